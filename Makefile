# lm — one binary, one test runner. `make` builds ./lm, `make test` runs the doctest suite.
CXX      ?= g++
OPT      ?= -O3
BUILD    ?= build
ARCH     ?= $(shell $(CXX) -dumpmachine | cut -d- -f1)
CXXFLAGS  = -std=c++20 $(OPT) -g1 -Wall -Wextra -Werror -fopenmp -I. -MMD -MP $(EXTRA_CXXFLAGS)
LDFLAGS   = -fopenmp $(EXTRA_LDFLAGS)

# Per-ISA kernel files: the rest of the program is built for the baseline ISA and
# dispatches to these at run time (simd/dispatch.cpp).
AVX2_FLAGS   = -mavx2 -mfma -mf16c
AVX512_FLAGS = -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512bf16 -mfma -mf16c

LIB_SRC  := $(wildcard weights/*.cpp tokenizer/*.cpp simd/*.cpp src/*.cpp)
LIB_SRC  := $(filter-out src/main.cpp,$(LIB_SRC))
ifneq ($(ARCH),x86_64)
LIB_SRC  := $(filter-out %_avx2.cpp %_avx512.cpp,$(LIB_SRC))
endif
TEST_SRC := $(wildcard tests/*.cpp)
LIB_OBJ  := $(LIB_SRC:%.cpp=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.cpp=$(BUILD)/%.o)

all: lm

lm: $(BUILD)/lm
	cp $< $@

$(BUILD)/lm: $(LIB_OBJ) $(BUILD)/src/main.o
	$(CXX) -o $@ $^ $(LDFLAGS)

$(BUILD)/test_lm: $(LIB_OBJ) $(TEST_OBJ)
	$(CXX) -o $@ $^ $(LDFLAGS)

$(BUILD)/%_avx2.o: %_avx2.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(AVX2_FLAGS) -c $< -o $@

$(BUILD)/%_avx512.o: %_avx512.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(AVX512_FLAGS) -c $< -o $@

$(BUILD)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c $< -o $@

# The suite runs from the project root; tests find ../shared/ relative to it.
test: lm $(BUILD)/test_lm
	$(BUILD)/test_lm

# The whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
SANITIZE = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
test-asan:
	$(MAKE) BUILD=build-asan OPT="-O1" EXTRA_CXXFLAGS="$(SANITIZE)" EXTRA_LDFLAGS="$(SANITIZE)" \
		build-asan/lm build-asan/test_lm
	LM_BIN=build-asan/lm ASAN_OPTIONS=detect_leaks=1 build-asan/test_lm

# aarch64: cross-built with Debian's g++-aarch64-linux-gnu and run under qemu-aarch64-static,
# so the NEON kernels are tested on this x86 machine (the kernel, model and CLI suites).
ARM_CXX  = aarch64-linux-gnu-g++
ARM_RUN  = env QEMU_LD_PREFIX=/usr/aarch64-linux-gnu qemu-aarch64-static
# (-fno-tree-vectorize: Debian's aarch64 GCC 12 hits an internal error vectorizing a test
# reduction; explicit NEON kernels are unaffected.)
test-arm:
	$(MAKE) BUILD=build-arm CXX=$(ARM_CXX) EXTRA_CXXFLAGS=-fno-tree-vectorize build-arm/lm build-arm/test_lm
	LM_BIN="$(ARM_RUN) build-arm/lm" $(ARM_RUN) build-arm/test_lm

# The standard benchmark table (bench/RESULTS.md); see bench/run.sh.
bench: lm
	bench/run.sh

clean:
	rm -rf $(BUILD) build-* lm

.PHONY: all test test-asan test-arm bench clean
-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BUILD)/src/main.d

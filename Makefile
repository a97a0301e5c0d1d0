# lm — one binary, one test runner. `make` builds ./lm, `make test` runs the doctest suite.
# Parallel by default: `make test` alone builds on every core.
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 2)
CXX      ?= g++
OPT      ?= -O3
# make LM_BUILTIN_MODEL=0: an lm without the story model of src/models/default_model.cpp
# (2.8 MB smaller; `lm run` then needs a MODEL), built in its own directory.
LM_BUILTIN_MODEL ?= 1
ifeq ($(LM_BUILTIN_MODEL),0)
BUILD    ?= build-nomodel
MODEL_FLAGS = -DLM_BUILTIN_MODEL=0
else
BUILD    ?= build
endif
ARCH     ?= $(shell $(CXX) -dumpmachine | cut -d- -f1)
# -fPIC: the same objects make ./lm and liblm.so (no interposition within the library, and in
# ./lm the linker relaxes thread-local access back to the executable's form).
CXXFLAGS  = -std=c++20 $(OPT) -g1 -Wall -Wextra -Werror -fopenmp -fPIC -fno-semantic-interposition -I. -MMD -MP $(MODEL_FLAGS) $(SECTIONS) $(EXTRA_CXXFLAGS)
LDFLAGS   = -fopenmp -Wl,--gc-sections $(EXTRA_LDFLAGS)
# Each function and variable in a section of its own, so the link drops what nothing reaches
# (bench/size.sh reads which sections stayed from $(BUILD)/lm.map).
SECTIONS  = -ffunction-sections -fdata-sections

# Code that runs once per command (flag parsing and printing, file readers and writers, the C
# API's wrappers, chat templates, checkpoints, logs) is built for size: -Os makes it about half
# as large, and no command measurably slower (bench/SIZE.md). Kernels, models, training layers,
# tokenizers, quantizers and the GGUF and JSON parsers (every model load: time to first token)
# keep $(OPT).
COLD_OPT ?= -Os
COLD_SRC := $(wildcard src/cli/*.cpp src/api/*.cpp) \
	$(addprefix weights/,error.cpp files.cpp limits.cpp llama2c.cpp metadata.cpp mmap.cpp model_file.cpp \
		safetensors.cpp) \
	$(addprefix tokenizer/,hf_files.cpp llama2c_vocab.cpp sentencepiece_model.cpp) \
	$(addprefix src/models/,chat_template.cpp config.cpp default_model.cpp) \
	$(addprefix src/train/,checkpoint.cpp export.cpp log.cpp task_data.cpp) src/eval/metrics.cpp
$(COLD_SRC:%.cpp=$(BUILD)/%.o): OPT = $(COLD_OPT)

# Per-ISA kernel files: the rest of the program is built for the baseline ISA and
# dispatches to these at run time (simd/dispatch.cpp).
AVX2_FLAGS   = -mavx2 -mfma -mf16c
AVX512_FLAGS = -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512bf16 -mfma -mf16c
AMX_FLAGS    = $(AVX512_FLAGS) -mamx-tile -mamx-bf16 -mamx-int8

LIB_SRC  := $(wildcard weights/*.cpp tokenizer/*.cpp simd/*.cpp src/*/*.cpp)
LIB_SRC  := $(filter-out src/cli/main.cpp,$(LIB_SRC))
ifneq ($(ARCH),x86_64)
LIB_SRC  := $(filter-out %_avx2.cpp %_avx512.cpp %_amx.cpp,$(LIB_SRC))
endif
TEST_SRC := $(wildcard tests/*.cpp)
LIB_OBJ  := $(LIB_SRC:%.cpp=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.cpp=$(BUILD)/%.o)

all: lm

# (./lm is refreshed whenever it differs: it may be the other LM_BUILTIN_MODEL's build.)
lm: $(BUILD)/lm
	@cmp -s $< $@ || cp $< $@

$(BUILD)/lm: $(LIB_OBJ) $(BUILD)/src/cli/main.o
	$(CXX) -o $@ $^ $(LDFLAGS) -Wl,-Map=$@.map

# make static: ./lm-static, the same objects linked with glibc, libstdc++ and libgomp (it needs
# no shared library, so it runs on a bare container), stripped. (ld warns that libgomp's
# offloading plugins would need dlopen: lm offloads nothing.)
$(BUILD)/lm-static: $(LIB_OBJ) $(BUILD)/src/cli/main.o
	$(CXX) -static -o $@ $^ $(LDFLAGS) -Wl,-Map=$@.map

static: $(BUILD)/lm-static
	strip -o lm-static $<

# make size: the static lm without the story model, and its code by folder (bench/SIZE.md).
size:
	$(MAKE) --no-print-directory static LM_BUILTIN_MODEL=0
	bench/size.sh build-nomodel/lm-static

$(BUILD)/test_lm: $(LIB_OBJ) $(TEST_OBJ)
	$(CXX) -o $@ $^ $(LDFLAGS)

# The library: the C API of src/api/lm.h over the same objects, static and shared (soname
# liblm.so.$(LM_SOVERSION); src/api/lm.map exports the lm_* functions alone).
LM_VERSION   = 1.0.0
LM_SOVERSION = 1
lib: $(BUILD)/liblm.a $(BUILD)/liblm.so.$(LM_SOVERSION)

$(BUILD)/liblm.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/liblm.so.$(LM_SOVERSION): $(LIB_OBJ) src/api/lm.map
	$(CXX) -shared -o $@ -Wl,-soname,liblm.so.$(LM_SOVERSION) -Wl,--version-script=src/api/lm.map $(LIB_OBJ) $(LDFLAGS)

# make install PREFIX=DIR (default /usr/local; DESTDIR for packaging): bin/lm, include/lm.h,
# lib/liblm.a, lib/liblm.so*, lib/pkgconfig/lm.pc. make uninstall removes exactly those.
PREFIX ?= /usr/local
INSTALLED = bin/lm include/lm.h lib/liblm.a lib/liblm.so.$(LM_SOVERSION) lib/liblm.so lib/pkgconfig/lm.pc
install: lm lib
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 lm $(DESTDIR)$(PREFIX)/bin/lm
	install -m 644 src/api/lm.h $(DESTDIR)$(PREFIX)/include/lm.h
	install -m 644 $(BUILD)/liblm.a $(DESTDIR)$(PREFIX)/lib/liblm.a
	install -m 755 $(BUILD)/liblm.so.$(LM_SOVERSION) $(DESTDIR)$(PREFIX)/lib/liblm.so.$(LM_SOVERSION)
	ln -sf liblm.so.$(LM_SOVERSION) $(DESTDIR)$(PREFIX)/lib/liblm.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(LM_VERSION)|' src/api/lm.pc.in >$(DESTDIR)$(PREFIX)/lib/pkgconfig/lm.pc

uninstall:
	rm -f $(INSTALLED:%=$(DESTDIR)$(PREFIX)/%)

# The C programs of tests/c built against an installed copy (pkg-config), their output
# compared with lm's own (tests/c/check.sh); part of make test.
test-c: lm lib
	$(MAKE) --no-print-directory install PREFIX=$(abspath $(BUILD))/prefix DESTDIR=
	LM_BUILTIN_MODEL=$(LM_BUILTIN_MODEL) tests/c/check.sh $(abspath $(BUILD))/prefix $(BUILD)
	$(MAKE) --no-print-directory uninstall PREFIX=$(abspath $(BUILD))/prefix DESTDIR=
	@left=$$(find $(BUILD)/prefix -type f -o -type l); [ -z "$$left" ] || { echo "make uninstall left: $$left"; exit 1; }

# tests/c/threads.c (4 threads, one context each, one model) over the library built with
# ThreadSanitizer. OMP_NUM_THREADS=1: TSan cannot see libgomp's barriers (not built with it),
# so OpenMP teams would give false reports; the test is about the program's own threads.
TSAN = -fsanitize=thread
test-tsan:
	$(MAKE) BUILD=build-tsan OPT="-O1" EXTRA_CXXFLAGS="$(TSAN)" EXTRA_LDFLAGS="$(TSAN)" build-tsan/liblm.a
	$(CC) -std=c99 -O1 -g $(TSAN) -Isrc/api -o build-tsan/threads tests/c/threads.c build-tsan/liblm.a $(TSAN) -fopenmp -lstdc++ -lm -lpthread
	OMP_NUM_THREADS=1 TSAN_OPTIONS="halt_on_error=1" build-tsan/threads ""

# The default story model is linked in with .incbin (src/models/default_model.cpp).
ifneq ($(LM_BUILTIN_MODEL),0)
$(BUILD)/src/models/default_model.o: weights/default-model.gguf
endif

$(BUILD)/%_avx2.o: %_avx2.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(AVX2_FLAGS) -c $< -o $@

$(BUILD)/%_avx512.o: %_avx512.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(AVX512_FLAGS) -c $< -o $@

$(BUILD)/%_amx.o: %_amx.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(AMX_FLAGS) -c $< -o $@

$(BUILD)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c $< -o $@

# The packed decode kernels repeat the scalar reference's float arithmetic bit for bit
# (simd/repack.h): in both, multiplies and adds stay separate instructions.
$(BUILD)/simd/dot_scalar.o $(BUILD)/simd/repack_avx512.o $(BUILD)/simd/repack_avx2.o $(BUILD)/simd/repack_amx.o: CXXFLAGS += -ffp-contract=off

# The suite runs from the project root; tests find ../shared/ relative to it.
test: lm $(BUILD)/test_lm
	$(BUILD)/test_lm
	$(MAKE) --no-print-directory test-c
	@if command -v $(ARM_CXX) >/dev/null && command -v qemu-aarch64-static >/dev/null; then \
		$(MAKE) --no-print-directory test-arm; \
	elif [ "$$CI" = true ]; then \
		echo "make test: $(ARM_CXX) and qemu-aarch64-static are required in CI"; exit 1; \
	else \
		echo "make test: skipping the aarch64 run (apt-get install g++-aarch64-linux-gnu qemu-user-static)"; \
	fi

# The whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
# (GCC leaves float-cast-overflow out of "undefined": a NaN cast to int is UB all the same.)
SANITIZE = -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all -fno-omit-frame-pointer
test-asan:
	$(MAKE) BUILD=build-asan OPT="-O1" EXTRA_CXXFLAGS="$(SANITIZE)" EXTRA_LDFLAGS="$(SANITIZE)" \
		build-asan/lm build-asan/test_lm
	LM_BIN=build-asan/lm ASAN_OPTIONS=detect_leaks=1 build-asan/test_lm

# libFuzzer harnesses (tests/fuzz/fuzz_*.cpp), built with clang into build-fuzz/ over the
# library as an archive; each runs FUZZ_SECONDS once per ISA level (LM_ISA=NAME; a level this
# CPU lacks is skipped) on a corpus seeded by tests/fuzz/seeds.cpp. A crash is saved as
# build-fuzz/crashes/HARNESS-LEVEL-*: replay it with LM_ISA=LEVEL build-fuzz/HARNESS FILE.
FUZZ_SECONDS ?= 60
FUZZ_ISAS    := $(if $(filter x86_64,$(ARCH)),scalar avx2 avx512 amx,scalar neon neon-dotprod)
FUZZ_CXX     ?= clang++
FUZZ_SANITIZE = -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_NAMES   := $(patsubst tests/fuzz/%.cpp,%,$(wildcard tests/fuzz/fuzz_*.cpp))
FUZZ_FLAGS    = -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=20 -print_final_stats=1

fuzz: fuzz-build
	@mkdir -p build-fuzz/crashes
	build-fuzz/seeds build-fuzz/corpus
	@for f in $(FUZZ_NAMES); do for isa in $(FUZZ_ISAS); do \
		echo "== $$f, LM_ISA=$$isa ($(FUZZ_SECONDS) s)"; \
		LM_ISA=$$isa build-fuzz/$$f build-fuzz/corpus/$$f $(FUZZ_FLAGS) -max_total_time=$(FUZZ_SECONDS) \
			-artifact_prefix=build-fuzz/crashes/$$f-$$isa- 2>build-fuzz/$$f-$$isa.log || \
			{ tail -n 60 build-fuzz/$$f-$$isa.log; exit 1; }; \
		grep -E "stat::number_of_executed_units|stat::peak_rss_mb|skipped" build-fuzz/$$f-$$isa.log; \
	done; done

# Kernels, repacking and (de)quantization loop millions of times per input: there the fuzz
# build keeps edge coverage but traces no comparisons (two thirds of fuzz_tensor_bytes's time).
build-fuzz/simd/%.o build-fuzz/weights/quant.o build-fuzz/weights/quant_k.o: CXXFLAGS += -fno-sanitize-coverage=trace-cmp

fuzz-build:
	$(MAKE) BUILD=build-fuzz CXX=$(FUZZ_CXX) OPT="-O1" \
		EXTRA_CXXFLAGS="$(FUZZ_SANITIZE) -fsanitize=fuzzer-no-link -Wno-error" EXTRA_LDFLAGS="$(FUZZ_SANITIZE)" \
		build-fuzz/seeds $(FUZZ_NAMES:%=build-fuzz/%)


$(BUILD)/seeds: tests/fuzz/seeds.cpp $(BUILD)/liblm.a
	$(CXX) $(CXXFLAGS) -o $@ $< $(BUILD)/liblm.a $(LDFLAGS)

$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.cpp tests/fuzz/fuzz.h $(BUILD)/liblm.a
	$(CXX) $(CXXFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/liblm.a $(LDFLAGS)

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

# lm train against the PyTorch peer on Tiny Shakespeare (bench/TRAIN.md); see bench/train.sh.
bench-train: lm
	bench/train.sh

# The BERT recipe: pretraining, SST-2, bAbI, SQuAD, and speed beside PyTorch (bench/BERT.md); see bench/bert.sh.
bench-bert: lm
	bench/bert.sh

# Time to first token (cold and warm) and peak memory beside llama.cpp (bench/LOAD.md); see bench/load.sh.
bench-load: lm
	bench/load.sh

clean:
	rm -rf $(BUILD) build-* lm lm-static

.PHONY: all lm static size lib install uninstall test test-c test-tsan test-asan test-arm fuzz fuzz-build bench bench-train bench-bert bench-load clean
-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BUILD)/src/cli/main.d

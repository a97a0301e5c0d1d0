// GGUF reader and writer: round trip of every value type, and hostile files.
#include <cstring>
#include <fstream>

#include "tests/gguf_bytes.h"
#include "tests/testing.h"
#include "weights/error.h"
#include "weights/gguf.h"
#include "weights/mmap.h"

using namespace lm;
using testing::GgufBytes;

namespace {

// A valid file: one u32 key, one 2x32 f32 tensor at offset 0.
GgufBytes valid_file(uint32_t tensor_type = 0, uint64_t offset = 0, uint64_t n_tensors = 1, uint64_t n_kv = 1,
                     uint64_t key_len = 5) {
    GgufBytes f;
    f.header(n_tensors, n_kv).put<uint64_t>(key_len).raw("a.key").put<uint32_t>(4).put<uint32_t>(7);
    f.tensor("w", {32, 2}, tensor_type, offset);
    while (f.b.size() % 32) f.b += '\0';
    for (int i = 0; i < 64; ++i) f.put<float>(static_cast<float>(i));
    return f;
}

std::string load_error(const GgufBytes& f) {
    const std::string path = testing::temp_path("bad.gguf");
    f.save(path);
    try {
        load_model(path);
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_SUITE("gguf") {

TEST_CASE("a hand-built file reads back") {
    const std::string path = testing::temp_path("ok.gguf");
    valid_file().save(path);
    ModelFile f = load_model(path);
    CHECK(f.format == "gguf");
    CHECK(f.meta.get_int("a.key") == 7);
    REQUIRE(f.tensors.size() == 1);
    CHECK(f.tensors[0].ne[0] == 32);
    CHECK(f.tensors[0].ne[1] == 2);
    CHECK(f.tensors[0].f32()[63] == 63.0f);
}

TEST_CASE("write_gguf round-trips every value type and tensor bytes") {
    Metadata m;
    m.set("u8", Value::of_int(ValueType::U8, 200));
    m.set("i8", Value::of_int(ValueType::I8, -100));
    m.set("u16", Value::of_int(ValueType::U16, 60000));
    m.set("i16", Value::of_int(ValueType::I16, -30000));
    m.set("u32", Value::of_int(ValueType::U32, 4000000000ll));
    m.set("i32", Value::of_int(ValueType::I32, -2000000000));
    m.set("u64", Value::of_int(ValueType::U64, 1ll << 50));
    m.set("i64", Value::of_int(ValueType::I64, -(1ll << 50)));
    m.set("f32", Value::of_float(ValueType::F32, 0.5));
    m.set("f64", Value::of_float(ValueType::F64, 1e-300));
    m.set("bool", Value::of_bool(true));
    m.set("str", Value::of_string("héllo"));
    m.set("strs", Value::of_strings({"a", "", "ccc"}));
    m.set("floats", Value::of_floats(ValueType::F32, {1.5, -2.25}));
    m.set("ints", Value::of_ints(ValueType::I32, {1, -2, 3}));
    Value nested;
    nested.type = ValueType::ARRAY;
    nested.elem = ValueType::ARRAY;
    nested.arrays = {Value::of_ints(ValueType::U8, {1, 2}), Value::of_ints(ValueType::U8, {3})};
    m.set("nested", nested);
    m.set("general.alignment", Value::of_int(ValueType::U32, 64));

    std::vector<float> a(96), b(7);
    for (size_t i = 0; i < a.size(); ++i) a[i] = 0.25f * i;
    for (size_t i = 0; i < b.size(); ++i) b[i] = -1.0f * i;
    Tensor ta{"a", DType::F32, 2, {32, 3, 1, 1}, a.data(), a.size() * 4};
    Tensor tb{"b", DType::F32, 1, {7, 1, 1, 1}, b.data(), b.size() * 4};
    const std::string path = testing::temp_path("roundtrip.gguf");
    write_gguf(path, m, {ta, tb});

    ModelFile f = load_model(path);
    CHECK(f.meta.get_int("u8") == 200);
    CHECK(f.meta.get_int("i8") == -100);
    CHECK(f.meta.get_int("u16") == 60000);
    CHECK(f.meta.get_int("i16") == -30000);
    CHECK(f.meta.get_int("u32") == 4000000000ll);
    CHECK(f.meta.get_int("i32") == -2000000000);
    CHECK(f.meta.get_int("u64") == (1ll << 50));
    CHECK(f.meta.get_int("i64") == -(1ll << 50));
    CHECK(f.meta.get_float("f32") == 0.5);
    CHECK(f.meta.get_float("f64") == 1e-300);
    CHECK(f.meta.get_bool("bool", false));
    CHECK(f.meta.get_string("str") == "héllo");
    CHECK(*f.meta.get_strings("strs") == std::vector<std::string>{"a", "", "ccc"});
    CHECK(*f.meta.get_floats("floats") == std::vector<double>{1.5, -2.25});
    CHECK(*f.meta.get_ints("ints") == std::vector<int64_t>{1, -2, 3});
    const Value* n = f.meta.find("nested");
    REQUIRE(n);
    REQUIRE(n->arrays.size() == 2);
    CHECK(n->arrays[0].ints == std::vector<int64_t>{1, 2});
    CHECK(n->arrays[1].ints == std::vector<int64_t>{3});
    REQUIRE(f.tensors.size() == 2);
    CHECK(reinterpret_cast<uintptr_t>(f.tensors[1].data) % 64 == 0);
    CHECK(std::memcmp(f.tensors[0].data, a.data(), a.size() * 4) == 0);
    CHECK(std::memcmp(f.tensors[1].data, b.data(), b.size() * 4) == 0);
    CHECK_THROWS_WITH_AS(f.meta.get_int("missing"), doctest::Contains("missing metadata key missing"), Error);
    CHECK_THROWS_WITH_AS(f.meta.get_string("u8"), doctest::Contains("expected a string"), Error);
}

TEST_CASE("hostile files give one clear error") {
    CHECK(load_error(valid_file()) == "(no error)");
    GgufBytes wrong_magic = valid_file();
    wrong_magic.b[3] = 'X';
    CHECK(load_error(wrong_magic).find("not a GGUF") != std::string::npos);
    GgufBytes truncated_header;
    truncated_header.b = valid_file().b.substr(0, 20);
    CHECK(load_error(truncated_header).find("truncated") != std::string::npos);
    GgufBytes truncated_data = valid_file();
    truncated_data.b.resize(truncated_data.b.size() - 10);
    CHECK(load_error(truncated_data).find("runs past the end") != std::string::npos);
    CHECK(load_error(valid_file(0, 1024)).find("runs past the end") != std::string::npos);
    CHECK(load_error(valid_file(0, 3)).find("not aligned") != std::string::npos);
    CHECK(load_error(valid_file(0, 0, 1ull << 60)).find("tensor count") != std::string::npos);
    CHECK(load_error(valid_file(0, 0, 1, 1ull << 60)).find("metadata count") != std::string::npos);
    CHECK(load_error(valid_file(0, 0, 1, 1, 1ull << 62)).find("exceeds") != std::string::npos);
    CHECK(load_error(valid_file(99)).find("unknown type 99") != std::string::npos);
    GgufBytes bad_version = valid_file();
    bad_version.b[4] = 9;
    CHECK(load_error(bad_version).find("unsupported GGUF version 9") != std::string::npos);
    GgufBytes empty;
    CHECK(load_error(empty).find("file is empty") != std::string::npos);
    CHECK_THROWS_WITH_AS(load_model("build/tmp/does-not-exist.gguf"), doctest::Contains("cannot open"), Error);
}

TEST_CASE("arrays that claim more elements than the file holds are refused before allocating") {
    GgufBytes f;
    f.put<uint32_t>(kGgufMagic).put<uint32_t>(3).put<uint64_t>(0).put<uint64_t>(1);
    f.str("big").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(1ull << 61);
    CHECK(load_error(f).find("array length") != std::string::npos);
    GgufBytes deep;
    deep.put<uint32_t>(kGgufMagic).put<uint32_t>(3).put<uint64_t>(0).put<uint64_t>(1);
    deep.str("deep").put<uint32_t>(9);
    for (int i = 0; i < 10; ++i) deep.put<uint32_t>(9).put<uint64_t>(1);
    CHECK(load_error(deep).find("nested too deeply") != std::string::npos);
}

TEST_CASE("the shared stories260K GGUF reads with its metadata") {
    const std::string path = testing::shared_file("models/stories260K/stories260K-F32.gguf");
    if (path.empty()) return;
    ModelFile f = load_model(path);
    CHECK(f.architecture() == "llama");
    CHECK(f.meta.get_int("llama.context_length") == 512);
    CHECK(f.meta.get_int("llama.embedding_length") == 64);
    CHECK(f.get("token_embd.weight").ne[1] == 512);
    CHECK(f.get("blk.4.ffn_down.weight").ne[0] == 172);
}

}

TEST_SUITE("weights") {

// Small blocks come from malloc; from 2 MiB on they are 2 MiB aligned whole huge pages, and
// every byte is usable (the block is written end to end and read back).
TEST_CASE("streamed buffers: huge-page aligned from 2 MiB, every byte usable") {
    for (size_t bytes : {size_t{1}, size_t{4096}, (size_t{2} << 20) - 1, size_t{2} << 20, (size_t{5} << 20) + 3}) {
        StreamedVector<uint8_t> v(bytes);
        for (size_t i = 0; i < bytes; ++i) v[i] = static_cast<uint8_t>(i * 7);
        size_t bad = 0;
        for (size_t i = 0; i < bytes; ++i) bad += v[i] != static_cast<uint8_t>(i * 7);
        INFO("bytes ", bytes);
        CHECK(bad == 0);
        if (bytes >= (size_t{2} << 20)) CHECK(reinterpret_cast<uintptr_t>(v.data()) % (size_t{2} << 20) == 0);
    }
    StreamedVector<float> moved(1 << 20, 1.5f);  // 4 MiB: moving keeps the block
    const float* at = moved.data();
    StreamedVector<float> target = std::move(moved);
    CHECK(target.data() == at);
    CHECK(target.back() == 1.5f);
}

}  // TEST_SUITE("weights")

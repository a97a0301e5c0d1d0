// Gradient checks for src/train/layers: every backward against central finite differences of an
// independent double-precision forward written here, on small odd shapes. The loss is
// L = sum(out * R) for a random R, so dout = R; gradient buffers start non-zero to check that
// backward accumulates. Errors are normwise: max |analytic - fd| / max |fd| per tensor.
// Set LM_VERBOSE=1 to print every measured error.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "simd/ops.h"
#include "src/train/layers.h"
#include "simd/kernels.h"
#include "tests/testing.h"

namespace {

using fvec = std::vector<float>;
using dvec = std::vector<double>;

// Backward (float, analytic) against double finite differences.
constexpr double GRAD_TOL = 5e-6;
// Float forward against the double reference forward.
constexpr double FORWARD_TOL = 2e-6;

fvec random_vec(std::mt19937& rng, size_t n, float lo = -1.0f, float hi = 1.0f) {
    std::uniform_real_distribution<float> dist(lo, hi);
    fvec v(n);
    for (auto& x : v) x = dist(rng);
    return v;
}

dvec to_double(const fvec& v) { return dvec(v.begin(), v.end()); }

void report(const char* what, double err) {
    if (std::getenv("LM_VERBOSE")) std::printf("  %-32s %.3e\n", what, err);
}

// max |a - b| / max |b|
double rel_error(const fvec& a, const dvec& b) {
    double diff = 0, ref = 0;
    for (size_t i = 0; i < b.size(); ++i) {
        diff = std::max(diff, std::abs(a[i] - b[i]));
        ref = std::max(ref, std::abs(b[i]));
    }
    return ref > 0 ? diff / ref : diff;
}

double dot_loss(const dvec& out, const dvec& R) {
    double s = 0;
    for (size_t i = 0; i < out.size(); ++i) s += out[i] * R[i];
    return s;
}

// Analytic gradient = grad_after - grad_before (the buffers accumulate).
fvec delta(const fvec& after, const fvec& before) {
    fvec d(after.size());
    for (size_t i = 0; i < d.size(); ++i) d[i] = after[i] - before[i];
    return d;
}

// Central differences of loss() with respect to every element of x, compared with analytic.
double check_grad(const char* what, const std::function<double()>& loss, dvec& x, const fvec& analytic) {
    const double h = 1e-4;
    dvec fd(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
        const double saved = x[i];
        x[i] = saved + h;
        const double up = loss();
        x[i] = saved - h;
        const double down = loss();
        x[i] = saved;
        fd[i] = (up - down) / (2 * h);
    }
    const double err = rel_error(analytic, fd);
    report(what, err);
    INFO(std::string(what), " max relative error ", err);
    CHECK(err < GRAD_TOL);
    return err;
}

void check_forward(const char* what, const fvec& out, const dvec& ref) {
    const double err = rel_error(out, ref);
    report(what, err);
    INFO(std::string(what), " forward relative error ", err);
    CHECK(err < FORWARD_TOL);
}

// ---------------------------------------------------------------------------------------------
// double reference forwards (same layouts as src/train/layers.h)

dvec ref_rmsnorm(const dvec& x, const dvec& w, int N, int C, double eps) {
    dvec out(x.size());
    for (int n = 0; n < N; ++n) {
        double ss = 0;
        for (int i = 0; i < C; ++i) ss += x[n * C + i] * x[n * C + i];
        const double r = 1 / std::sqrt(ss / C + eps);
        for (int i = 0; i < C; ++i) out[n * C + i] = x[n * C + i] * r * w[i];
    }
    return out;
}

dvec ref_layernorm(const dvec& x, const dvec& w, const dvec& bias, int N, int C, double eps) {
    dvec out(x.size());
    for (int n = 0; n < N; ++n) {
        double m = 0, var = 0;
        for (int i = 0; i < C; ++i) m += x[n * C + i] / C;
        for (int i = 0; i < C; ++i) var += (x[n * C + i] - m) * (x[n * C + i] - m) / C;
        for (int i = 0; i < C; ++i) out[n * C + i] = (x[n * C + i] - m) / std::sqrt(var + eps) * w[i] + bias[i];
    }
    return out;
}

dvec ref_matmul(const dvec& x, const dvec& w, const dvec* bias, int N, int C, int OC) {
    dvec out((size_t)N * OC);
    for (int n = 0; n < N; ++n)
        for (int o = 0; o < OC; ++o) {
            double s = bias ? (*bias)[o] : 0.0;
            for (int c = 0; c < C; ++c) s += x[(size_t)n * C + c] * w[(size_t)o * C + c];
            out[(size_t)n * OC + o] = s;
        }
    return out;
}

dvec ref_rope(const dvec& x, int B, int T, int C, int n_heads, int HS, double base) {
    dvec out = x;
    for (int b = 0; b < B; ++b)
        for (int t = 0; t < T; ++t)
            for (int h = 0; h < n_heads; ++h)
                for (int i = 0; i < HS / 2; ++i) {
                    const double theta = t * std::pow(base, -2.0 * i / HS);
                    const size_t a = ((size_t)b * T + t) * C + h * HS + 2 * i;
                    out[a] = x[a] * std::cos(theta) - x[a + 1] * std::sin(theta);
                    out[a + 1] = x[a] * std::sin(theta) + x[a + 1] * std::cos(theta);
                }
    return out;
}

// Causal, or with lengths bidirectional over each sequence's first lengths[b] keys.
dvec ref_attention(const dvec& qkv, int B, int T, int NH, int NKV, int HS, const int* lengths = nullptr) {
    const int C3 = (NH + 2 * NKV) * HS, C = NH * HS;
    dvec out((size_t)B * T * C, 0.0), s(T);
    for (int b = 0; b < B; ++b)
        for (int h = 0; h < NH; ++h)
            for (int t = 0; t < T; ++t) {
                const int kvh = h / (NH / NKV);
                const double* q = &qkv[((size_t)b * T + t) * C3 + h * HS];
                double max = -1e300, sum = 0;
                const int keys = lengths ? lengths[b] : t + 1;
                for (int t2 = 0; t2 < keys; ++t2) {
                    const double* k = &qkv[((size_t)b * T + t2) * C3 + C + kvh * HS];
                    s[t2] = 0;
                    for (int i = 0; i < HS; ++i) s[t2] += q[i] * k[i] / std::sqrt((double)HS);
                    max = std::max(max, s[t2]);
                }
                for (int t2 = 0; t2 < keys; ++t2) sum += s[t2] = std::exp(s[t2] - max);
                for (int t2 = 0; t2 < keys; ++t2) {
                    const double* v = &qkv[((size_t)b * T + t2) * C3 + C + (NKV + kvh) * HS];
                    for (int i = 0; i < HS; ++i) out[((size_t)b * T + t) * C + h * HS + i] += s[t2] / sum * v[i];
                }
            }
    return out;
}

double ref_gelu(double x) { return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))); }

double ref_crossentropy(const dvec& logits, const std::vector<int>& targets, int N, int V, int ignore) {
    double loss = 0;
    int valid = 0;
    for (int n = 0; n < N; ++n) {
        if (targets[n] == ignore) continue;
        double max = -1e300, sum = 0;
        for (int i = 0; i < V; ++i) max = std::max(max, logits[n * V + i]);
        for (int i = 0; i < V; ++i) sum += std::exp(logits[n * V + i] - max);
        loss += std::log(sum) + max - logits[n * V + targets[n]];
        ++valid;
    }
    return valid ? loss / valid : 0.0;
}

}  // namespace

TEST_SUITE("layers") {
TEST_CASE("embedding: token and learned position, repeated tokens") {
    std::mt19937 rng(1);
    const int B = 2, T = 5, C = 7, V = 9;
    const std::vector<int> tokens = {3, 1, 3, 8, 0, 1, 1, 4, 3, 2};
    for (bool with_pos : {false, true}) {
        fvec wte = random_vec(rng, V * C), wpe = random_vec(rng, T * C), out(B * T * C);
        lm::embedding_forward(out.data(), tokens.data(), wte.data(), with_pos ? wpe.data() : nullptr, B, T, C);
        dvec dwte = to_double(wte), dwpe = to_double(wpe), R = to_double(random_vec(rng, out.size()));
        auto ref = [&] {
            dvec o(B * T * C);
            for (int n = 0; n < B * T; ++n)
                for (int i = 0; i < C; ++i)
                    o[n * C + i] = dwte[tokens[n] * C + i] + (with_pos ? dwpe[n % T * C + i] : 0);
            return o;
        };
        check_forward("embedding", out, ref());
        const fvec gwte0 = random_vec(rng, wte.size()), gwpe0 = random_vec(rng, wpe.size());
        fvec gwte = gwte0, gwpe = gwpe0, dout(R.begin(), R.end());
        lm::embedding_backward(gwte.data(), with_pos ? gwpe.data() : nullptr, dout.data(), tokens.data(), B, T, C);
        auto loss = [&] { return dot_loss(ref(), R); };
        check_grad("embedding dwte", loss, dwte, delta(gwte, gwte0));
        if (with_pos) check_grad("embedding dwpe", loss, dwpe, delta(gwpe, gwpe0));
    }
}

TEST_CASE("rmsnorm: forward equals simd/ops, backward against finite differences") {
    std::mt19937 rng(2);
    const int N = 6, C = 13;
    const float eps = 1e-5f;
    fvec inp = random_vec(rng, N * C), weight = random_vec(rng, C, 0.5f, 1.5f), out(N * C), rstd(N);
    lm::rmsnorm_forward(out.data(), rstd.data(), inp.data(), weight.data(), N, C, eps);
    fvec row(C);
    lm::rmsnorm(row.data(), inp.data() + 2 * C, weight.data(), C, eps);
    for (int i = 0; i < C; ++i) CHECK(row[i] == out[2 * C + i]);
    dvec x = to_double(inp), w = to_double(weight), R = to_double(random_vec(rng, out.size()));
    check_forward("rmsnorm", out, ref_rmsnorm(x, w, N, C, eps));
    const fvec dinp0 = random_vec(rng, inp.size()), dweight0 = random_vec(rng, C);
    fvec dinp = dinp0, dweight = dweight0, dout(R.begin(), R.end());
    lm::rmsnorm_backward(dinp.data(), dweight.data(), dout.data(), inp.data(), weight.data(), rstd.data(), N, C);
    auto loss = [&] { return dot_loss(ref_rmsnorm(x, w, N, C, eps), R); };
    check_grad("rmsnorm dinp", loss, x, delta(dinp, dinp0));
    check_grad("rmsnorm dweight", loss, w, delta(dweight, dweight0));
}

TEST_CASE("layernorm: forward equals simd/ops, backward against finite differences") {
    std::mt19937 rng(3);
    const int N = 7, C = 11;
    const float eps = 1e-5f;
    fvec inp = random_vec(rng, N * C, -2.0f, 3.0f), weight = random_vec(rng, C, 0.5f, 1.5f);
    fvec bias = random_vec(rng, C), out(N * C), mean(N), rstd(N);
    lm::layernorm_forward(out.data(), mean.data(), rstd.data(), inp.data(), weight.data(), bias.data(), N, C, eps);
    fvec row(C);
    lm::layernorm(row.data(), inp.data() + 3 * C, weight.data(), bias.data(), C, eps);
    for (int i = 0; i < C; ++i) CHECK(row[i] == out[3 * C + i]);
    dvec x = to_double(inp), w = to_double(weight), bi = to_double(bias), R = to_double(random_vec(rng, out.size()));
    check_forward("layernorm", out, ref_layernorm(x, w, bi, N, C, eps));
    const fvec dinp0 = random_vec(rng, inp.size()), dweight0 = random_vec(rng, C), dbias0 = random_vec(rng, C);
    fvec dinp = dinp0, dweight = dweight0, dbias = dbias0, dout(R.begin(), R.end());
    lm::layernorm_backward(dinp.data(), dweight.data(), dbias.data(), dout.data(), inp.data(), weight.data(),
                           mean.data(), rstd.data(), N, C);
    auto loss = [&] { return dot_loss(ref_layernorm(x, w, bi, N, C, eps), R); };
    check_grad("layernorm dinp", loss, x, delta(dinp, dinp0));
    check_grad("layernorm dweight", loss, w, delta(dweight, dweight0));
    check_grad("layernorm dbias", loss, bi, delta(dbias, dbias0));
}

// Shapes with C past one SIMD strip plus a tail, and N, OC off the tile sizes.
TEST_CASE("matmul: with and without bias against finite differences") {
    std::mt19937 rng(4);
    const int N = 7, C = 37, OC = 11;
    for (bool with_bias : {true, false}) {
        fvec inp = random_vec(rng, N * C), weight = random_vec(rng, OC * C), bias = random_vec(rng, OC), out(N * OC);
        lm::matmul_forward(out.data(), inp.data(), weight.data(), with_bias ? bias.data() : nullptr, N, C, OC);
        dvec x = to_double(inp), w = to_double(weight), bi = to_double(bias);
        dvec R = to_double(random_vec(rng, out.size()));
        check_forward("matmul", out, ref_matmul(x, w, with_bias ? &bi : nullptr, N, C, OC));
        const fvec dinp0 = random_vec(rng, inp.size()), dweight0 = random_vec(rng, weight.size());
        const fvec dbias0 = random_vec(rng, OC);
        fvec dinp = dinp0, dweight = dweight0, dbias = dbias0, dout(R.begin(), R.end());
        lm::matmul_backward(dinp.data(), dweight.data(), with_bias ? dbias.data() : nullptr, dout.data(), inp.data(),
                            weight.data(), N, C, OC);
        auto loss = [&] { return dot_loss(ref_matmul(x, w, with_bias ? &bi : nullptr, N, C, OC), R); };
        check_grad("matmul dinp", loss, x, delta(dinp, dinp0));
        check_grad("matmul dweight", loss, w, delta(dweight, dweight0));
        if (with_bias) check_grad("matmul dbias", loss, bi, delta(dbias, dbias0));
    }
}

// Large enough to take the OpenMP path; backward products checked against their closed form.
TEST_CASE("matmul: threaded shapes against double products") {
    std::mt19937 rng(5);
    const int N = 67, C = 129, OC = 71;
    fvec inp = random_vec(rng, N * C), weight = random_vec(rng, OC * C), bias = random_vec(rng, OC), out(N * OC);
    lm::matmul_forward(out.data(), inp.data(), weight.data(), bias.data(), N, C, OC);
    dvec x = to_double(inp), w = to_double(weight), bi = to_double(bias);
    check_forward("matmul threaded", out, ref_matmul(x, w, &bi, N, C, OC));
    fvec dout = random_vec(rng, out.size()), dinp(inp.size(), 0.0f), dweight(weight.size(), 0.0f), dbias(OC, 0.0f);
    lm::matmul_backward(dinp.data(), dweight.data(), dbias.data(), dout.data(), inp.data(), weight.data(), N, C, OC);
    dvec ref_dinp((size_t)N * C, 0.0), ref_dweight((size_t)OC * C, 0.0), ref_dbias(OC, 0.0);
    for (int n = 0; n < N; ++n)
        for (int o = 0; o < OC; ++o) {
            const double d = dout[n * OC + o];
            ref_dbias[o] += d;
            for (int c = 0; c < C; ++c) {
                ref_dinp[n * C + c] += d * w[o * C + c];
                ref_dweight[o * C + c] += d * x[n * C + c];
            }
        }
    check_forward("matmul threaded dinp", dinp, ref_dinp);
    check_forward("matmul threaded dweight", dweight, ref_dweight);
    check_forward("matmul threaded dbias", dbias, ref_dbias);
}

// Every GEMM build this CPU runs, on the three stride patterns matmul uses, with M, N and K
// past one register tile, one packed block (MC, NC, KC) and off every multiple.
TEST_CASE("strided GEMM: every ISA build, all stride patterns, across block edges") {
    std::mt19937 rng(13);
    const int M = 200, N = 1100, K = 300;
    const fvec a = random_vec(rng, (size_t)M * K), b = random_vec(rng, (size_t)K * N);
    const fvec c0 = random_vec(rng, (size_t)M * N);
    struct Layout {
        const char* name;
        long a_rs, a_cs, b_rs, b_cs;
    };
    for (Layout l : {Layout{"A . B^T", K, 1, 1, K}, Layout{"A . B", K, 1, N, 1}, Layout{"A^T . B", 1, M, N, 1},
                     Layout{"A^T . B^T", 1, M, 1, K}}) {
        dvec ref(c0.begin(), c0.end());
        for (int m = 0; m < M; ++m)
            for (int k = 0; k < K; ++k) {
                const double am = a[m * l.a_rs + k * l.a_cs];
                for (int n = 0; n < N; ++n) ref[(size_t)m * N + n] += am * b[k * l.b_rs + n * l.b_cs];
            }
        for (lm::simd::Isa isa : lm::simd::reachable_isas()) {
            fvec c = c0;
            const lm::GemmArgs g{c.data(), N, a.data(), l.a_rs, l.a_cs, b.data(), lm::DType::F32, l.b_rs, l.b_cs,
                                 M, N, K, false};
            for (int part = 0; part < 3; ++part)  // in three shares, as three threads would
                lm::simd::gemm_kernel(isa)(g, part, 3);
            check_forward((std::string("gemm ") + lm::simd::isa_name(isa) + " " + l.name).c_str(), c, ref);
            // Overwriting, with a bias row added: C = A . B + bias.
            fvec c2(c0.size(), NAN);
            lm::GemmArgs g2 = g;
            g2.c = c2.data(), g2.overwrite = true, g2.bias = c0.data();
            for (int part = 0; part < 2; ++part) lm::simd::gemm_kernel(isa)(g2, part, 2);
            dvec ref2(ref);
            for (int m = 0; m < M; ++m)
                for (int n = 0; n < N; ++n) ref2[(size_t)m * N + n] += c0[n] - c0[(size_t)m * N + n];
            check_forward((std::string("gemm + bias ") + lm::simd::isa_name(isa) + " " + l.name).c_str(), c2, ref2);
        }
    }
}

TEST_CASE("rope: forward equals simd/ops rope, backward against finite differences") {
    std::mt19937 rng(6);
    const int B = 2, T = 5, NH = 4, NKV = 2, HS = 6, C = (NH + 2 * NKV) * HS, n_rot = NH + NKV;
    const float base = 10000.0f;
    fvec inp = random_vec(rng, B * T * C), out(inp.size());
    lm::rope_forward(out.data(), inp.data(), B, T, C, n_rot, HS, base);
    fvec row(inp.begin() + (T + 3) * C, inp.begin() + (T + 4) * C);  // b = 1, t = 3
    lm::rope(row.data(), HS, n_rot, 3, base, false);
    for (int i = 0; i < C; ++i) CHECK(row[i] == out[(T + 3) * C + i]);
    fvec inplace = inp;
    lm::rope_forward(inplace.data(), inplace.data(), B, T, C, n_rot, HS, base);
    CHECK(inplace == out);
    dvec x = to_double(inp), R = to_double(random_vec(rng, out.size()));
    check_forward("rope", out, ref_rope(x, B, T, C, n_rot, HS, base));
    const fvec dinp0 = random_vec(rng, inp.size());
    fvec dinp = dinp0, dout(R.begin(), R.end());
    lm::rope_backward(dinp.data(), dout.data(), B, T, C, n_rot, HS, base);
    check_grad("rope dinp", [&] { return dot_loss(ref_rope(x, B, T, C, n_rot, HS, base), R); }, x,
               delta(dinp, dinp0));
}

TEST_CASE("attention: causal, grouped-query and multi-head, against finite differences") {
    struct Shape {
        int B, T, NH, NKV, HS;
    };
    for (Shape s : {Shape{2, 5, 4, 2, 6}, Shape{1, 7, 3, 3, 5}, Shape{2, 4, 6, 1, 3}, Shape{2, 1, 2, 1, 4}}) {
        std::mt19937 rng(7 + s.NH);
        const int C3 = (s.NH + 2 * s.NKV) * s.HS, C = s.NH * s.HS;
        fvec qkv = random_vec(rng, (size_t)s.B * s.T * C3, -1.5f, 1.5f), out((size_t)s.B * s.T * C);
        fvec att((size_t)s.B * s.NH * s.T * s.T), datt(att.size());
        lm::attention_forward(out.data(), att.data(), qkv.data(), s.B, s.T, s.NH, s.NKV, s.HS);
        dvec x = to_double(qkv), R = to_double(random_vec(rng, out.size()));
        check_forward("attention", out, ref_attention(x, s.B, s.T, s.NH, s.NKV, s.HS));
        for (int r = 0; r < s.B * s.NH * s.T; ++r) {  // causal rows sum to 1, zero above the diagonal
            const int t = r % s.T;
            double sum = 0;
            for (int t2 = 0; t2 < s.T; ++t2) sum += att[(size_t)r * s.T + t2];
            CHECK(std::abs(sum - 1) < 1e-6);
            if (t + 1 < s.T) CHECK(att[(size_t)r * s.T + t + 1] == 0.0f);
        }
        const fvec dqkv0 = random_vec(rng, qkv.size());
        fvec dqkv = dqkv0, dout(R.begin(), R.end());
        lm::attention_backward(dqkv.data(), datt.data(), dout.data(), qkv.data(), att.data(), s.B, s.T, s.NH, s.NKV,
                               s.HS);
        check_grad("attention dqkv", [&] { return dot_loss(ref_attention(x, s.B, s.T, s.NH, s.NKV, s.HS), R); }, x,
                   delta(dqkv, dqkv0));
    }
}

TEST_CASE("attention: bidirectional over padded sequences, against finite differences") {
    std::mt19937 rng(17);
    const int B = 3, T = 6, NH = 2, NKV = 2, HS = 5, C3 = (NH + 2 * NKV) * HS;
    const int lengths[B] = {6, 3, 1};
    fvec qkv = random_vec(rng, (size_t)B * T * C3, -1.5f, 1.5f), out((size_t)B * T * NH * HS);
    fvec att((size_t)B * NH * T * T), datt(att.size());
    lm::attention_forward(out.data(), att.data(), qkv.data(), B, T, NH, NKV, HS, lengths);
    dvec x = to_double(qkv), R = to_double(random_vec(rng, out.size()));
    check_forward("attention bidirectional", out, ref_attention(x, B, T, NH, NKV, HS, lengths));
    for (int r = 0; r < B * NH * T; ++r)  // every query, padding included, sees exactly the real keys
        for (int t2 = 0; t2 < T; ++t2) CHECK((att[(size_t)r * T + t2] > 0) == (t2 < lengths[r / (NH * T)]));
    const fvec dqkv0 = random_vec(rng, qkv.size());
    fvec dqkv = dqkv0, dout(R.begin(), R.end());
    lm::attention_backward(dqkv.data(), datt.data(), dout.data(), qkv.data(), att.data(), B, T, NH, NKV, HS,
                           lm::Dinp::Accumulate, lengths);
    check_grad("attention bidirectional dqkv", [&] { return dot_loss(ref_attention(x, B, T, NH, NKV, HS, lengths), R); },
               x, delta(dqkv, dqkv0));
}

// The kernels block keys and head dimensions for vector widths the small shapes above do not
// reach: a BERT training shape, checked at 120 sampled inputs (every input would take minutes).
TEST_CASE("attention: bidirectional at a training shape (T 100, heads of 32), sampled finite differences") {
    std::mt19937 rng(23);
    const int B = 2, T = 100, NH = 4, NKV = 4, HS = 32, C3 = (NH + 2 * NKV) * HS;
    const int lengths[B] = {100, 61};
    fvec qkv = random_vec(rng, (size_t)B * T * C3), out((size_t)B * T * NH * HS);
    fvec att((size_t)B * NH * T * T), datt(att.size());
    lm::attention_forward(out.data(), att.data(), qkv.data(), B, T, NH, NKV, HS, lengths);
    dvec x = to_double(qkv), R = to_double(random_vec(rng, out.size()));
    check_forward("attention training shape", out, ref_attention(x, B, T, NH, NKV, HS, lengths));
    fvec dqkv(qkv.size(), 0.0f), dout(R.begin(), R.end());
    lm::attention_backward(dqkv.data(), datt.data(), dout.data(), qkv.data(), att.data(), B, T, NH, NKV, HS,
                           lm::Dinp::Overwrite, lengths);
    std::uniform_int_distribution<size_t> pick(0, x.size() - 1);
    fvec analytic;
    dvec fd;
    for (int n = 0; n < 120; ++n) {
        const size_t i = pick(rng);
        const double saved = x[i], h = 1e-4;
        x[i] = saved + h;
        const double up = dot_loss(ref_attention(x, B, T, NH, NKV, HS, lengths), R);
        x[i] = saved - h;
        const double down = dot_loss(ref_attention(x, B, T, NH, NKV, HS, lengths), R);
        x[i] = saved;
        fd.push_back((up - down) / (2 * h));
        analytic.push_back(dqkv[i]);
    }
    const double err = rel_error(analytic, fd);
    report("attention training shape dqkv", err);
    CHECK(err < GRAD_TOL);
}

TEST_CASE("attention: threaded shape against finite differences") {
    std::mt19937 rng(8);
    const int B = 3, T = 17, NH = 4, NKV = 2, HS = 16, C3 = (NH + 2 * NKV) * HS;
    fvec qkv = random_vec(rng, (size_t)B * T * C3), out((size_t)B * T * NH * HS);
    fvec att((size_t)B * NH * T * T), datt(att.size());
    lm::attention_forward(out.data(), att.data(), qkv.data(), B, T, NH, NKV, HS);
    dvec x = to_double(qkv), R = to_double(random_vec(rng, out.size()));
    check_forward("attention threaded", out, ref_attention(x, B, T, NH, NKV, HS));
    fvec dqkv(qkv.size(), 0.0f), dout(R.begin(), R.end());
    lm::attention_backward(dqkv.data(), datt.data(), dout.data(), qkv.data(), att.data(), B, T, NH, NKV, HS);
    check_grad("attention threaded dqkv", [&] { return dot_loss(ref_attention(x, B, T, NH, NKV, HS), R); }, x, dqkv);
}

TEST_CASE("swiglu: forward equals simd/ops, backward against finite differences") {
    std::mt19937 rng(9);
    const int N = 5, H = 7;
    fvec inp = random_vec(rng, 2 * N * H, -3.0f, 3.0f), out(N * H);
    lm::swiglu_forward(out.data(), inp.data(), N, H);
    dvec x = to_double(inp), R = to_double(random_vec(rng, out.size()));
    auto ref = [&] {
        dvec o(N * H);
        for (int n = 0; n < N; ++n)
            for (int i = 0; i < H; ++i) {
                const double g = x[2 * n * H + i], u = x[2 * n * H + H + i];
                o[n * H + i] = g / (1 + std::exp(-g)) * u;
            }
        return o;
    };
    check_forward("swiglu", out, ref());
    const fvec dinp0 = random_vec(rng, inp.size());
    fvec dinp = dinp0, dout(R.begin(), R.end());
    lm::swiglu_backward(dinp.data(), dout.data(), inp.data(), N, H);
    check_grad("swiglu dinp", [&] { return dot_loss(ref(), R); }, x, delta(dinp, dinp0));
}

TEST_CASE("gelu (tanh): forward equals simd/ops, backward against finite differences") {
    std::mt19937 rng(10);
    const int n = 29;
    fvec inp = random_vec(rng, n, -4.0f, 4.0f), out(n);
    lm::gelu_forward(out.data(), inp.data(), n);
    dvec x = to_double(inp), R = to_double(random_vec(rng, n));
    auto ref = [&] {
        dvec o(n);
        for (int i = 0; i < n; ++i) o[i] = ref_gelu(x[i]);
        return o;
    };
    check_forward("gelu", out, ref());
    const fvec dinp0 = random_vec(rng, n);
    fvec dinp = dinp0, dout(R.begin(), R.end());
    lm::gelu_backward(dinp.data(), dout.data(), inp.data(), n);
    check_grad("gelu dinp", [&] { return dot_loss(ref(), R); }, x, delta(dinp, dinp0));
}

TEST_CASE("gelu (erf): forward against double, backward against finite differences") {
    std::mt19937 rng(12);
    const int n = 37;  // vector body and tail
    fvec inp = random_vec(rng, n, -5.0f, 5.0f), out(n);
    lm::gelu_erf_forward(out.data(), inp.data(), n);
    dvec x = to_double(inp), R = to_double(random_vec(rng, n));
    auto ref = [&] {
        dvec o(n);
        for (int i = 0; i < n; ++i) o[i] = 0.5 * x[i] * (1 + std::erf(x[i] / std::sqrt(2.0)));
        return o;
    };
    check_forward("gelu erf", out, ref());
    const fvec dinp0 = random_vec(rng, n);
    fvec dinp = dinp0, dout(R.begin(), R.end());
    lm::gelu_erf_backward(dinp.data(), dout.data(), inp.data(), n);
    check_grad("gelu erf dinp", [&] { return dot_loss(ref(), R); }, x, delta(dinp, dinp0));
    fvec set(n, 1e30f);  // Overwrite ignores what was there
    lm::gelu_erf_backward(set.data(), dout.data(), inp.data(), n, lm::Dinp::Overwrite);
    for (int i = 0; i < n; ++i) CHECK(set[i] == doctest::Approx(dinp[i] - dinp0[i]).epsilon(1e-5));
}

TEST_CASE("residual: forward and backward") {
    std::mt19937 rng(11);
    const int n = 13;
    fvec a = random_vec(rng, n), b = random_vec(rng, n), out(n);
    lm::residual_forward(out.data(), a.data(), b.data(), n);
    dvec da = to_double(a), db = to_double(b), R = to_double(random_vec(rng, n));
    auto ref = [&] {
        dvec o(n);
        for (int i = 0; i < n; ++i) o[i] = da[i] + db[i];
        return o;
    };
    check_forward("residual", out, ref());
    const fvec ga0 = random_vec(rng, n), gb0 = random_vec(rng, n);
    fvec ga = ga0, gb = gb0, dout(R.begin(), R.end());
    lm::residual_backward(ga.data(), gb.data(), dout.data(), n);
    auto loss = [&] { return dot_loss(ref(), R); };
    check_grad("residual dinp1", loss, da, delta(ga, ga0));
    check_grad("residual dinp2", loss, db, delta(gb, gb0));
}

TEST_CASE("rnn: tanh recurrence, backprop through time against finite differences") {
    std::mt19937 rng(14);
    for (int T : {6, 1}) {
        const int B = 3, C = 5, H = 7;
        fvec inp = random_vec(rng, B * T * C), wx = random_vec(rng, H * C, -0.6f, 0.6f);
        fvec wh = random_vec(rng, H * H, -0.6f, 0.6f), bias = random_vec(rng, H), out(B * T * H);
        lm::rnn_forward(out.data(), inp.data(), wx.data(), wh.data(), bias.data(), B, T, C, H);
        dvec x = to_double(inp), dwx_ = to_double(wx), dwh_ = to_double(wh), db_ = to_double(bias);
        dvec R = to_double(random_vec(rng, out.size()));
        auto ref = [&] {
            dvec h((size_t)B * T * H, 0.0);
            for (int b = 0; b < B; ++b)
                for (int t = 0; t < T; ++t)
                    for (int n = 0; n < H; ++n) {
                        double pre = db_[n];
                        for (int c = 0; c < C; ++c) pre += x[(b * T + t) * C + c] * dwx_[n * C + c];
                        if (t > 0)
                            for (int k = 0; k < H; ++k) pre += h[(b * T + t - 1) * H + k] * dwh_[n * H + k];
                        h[(b * T + t) * H + n] = std::tanh(pre);
                    }
            return h;
        };
        check_forward("rnn", out, ref());
        const fvec dinp0 = random_vec(rng, inp.size()), dwx0 = random_vec(rng, wx.size());
        const fvec dwh0 = random_vec(rng, wh.size()), dbias0 = random_vec(rng, H);
        fvec dinp = dinp0, dwx = dwx0, dwh = dwh0, dbias = dbias0, dpre(out.size()), dout(R.begin(), R.end());
        lm::rnn_backward(dinp.data(), dwx.data(), dwh.data(), dbias.data(), dpre.data(), dout.data(), out.data(),
                         inp.data(), wx.data(), wh.data(), B, T, C, H);
        auto loss = [&] { return dot_loss(ref(), R); };
        check_grad("rnn dinp", loss, x, delta(dinp, dinp0));
        check_grad("rnn dwx", loss, dwx_, delta(dwx, dwx0));
        check_grad("rnn dwh", loss, dwh_, delta(dwh, dwh0));
        check_grad("rnn dbias", loss, db_, delta(dbias, dbias0));
    }
}

TEST_CASE("crossentropy: mean loss with ignore index, fused softmax backward") {
    std::mt19937 rng(12);
    const int N = 7, V = 11, ignore = -100;
    const std::vector<int> targets = {3, ignore, 0, 10, 3, ignore, 7};
    fvec logits = random_vec(rng, N * V, -3.0f, 3.0f), probs(N * V);
    const float loss = lm::crossentropy_forward(probs.data(), logits.data(), targets.data(), N, V, ignore);
    dvec x = to_double(logits);
    const double ref = ref_crossentropy(x, targets, N, V, ignore);
    report("crossentropy loss", std::abs(loss - ref) / ref);
    CHECK(std::abs(loss - ref) < 1e-6 * ref);
    fvec inplace = logits;
    CHECK(lm::crossentropy_forward(inplace.data(), inplace.data(), targets.data(), N, V, ignore) == loss);
    CHECK(inplace == probs);
    const fvec dlogits0 = random_vec(rng, logits.size());
    fvec dlogits = dlogits0;
    lm::crossentropy_backward(dlogits.data(), probs.data(), targets.data(), N, V, ignore);
    const fvec analytic = delta(dlogits, dlogits0);
    for (int i = 0; i < V; ++i) CHECK(analytic[1 * V + i] == 0.0f);  // ignored rows get no gradient
    check_grad("crossentropy dlogits", [&] { return ref_crossentropy(x, targets, N, V, ignore); }, x, analytic);
    const std::vector<int> all_ignored(N, ignore);
    CHECK(lm::crossentropy_forward(probs.data(), logits.data(), all_ignored.data(), N, V, ignore) == 0.0f);
}
}

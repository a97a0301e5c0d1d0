// Training layers over flat float buffers of N = B*T rows, llm.c-style: every X_forward sits
// beside its X_backward with the same arguments in the same order (gradients first). Forward
// keeps what backward needs (rstd, attention probabilities, softmax probabilities) in
// caller-provided buffers; backward accumulates (+=) into every gradient buffer, so the
// caller zeroes gradients once per step. Where a backward is the only writer of its input
// gradient, Dinp::Overwrite (=) spares the caller zeroing that buffer first. Nothing here allocates (the GEMM's packing buffers
// are per thread and grow once). Large calls run one OpenMP parallel region each.
#pragma once

namespace lm {

// How a backward pass writes dinp: added to what is there, or replacing it.
enum class Dinp { Accumulate, Overwrite };

// Token embedding plus optional learned position embedding (wpe may be null):
// out[b,t,:] = wte[inp[b,t], :] + wpe[t, :]
void embedding_forward(float* out, const int* inp, const float* wte, const float* wpe, int B, int T, int C);
void embedding_backward(float* dwte, float* dwpe, const float* dout, const int* inp, int B, int T, int C);

// out = inp / sqrt(mean(inp^2) + eps) * weight, per row of C; rstd[N] is kept for backward.
void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int C, float eps);
void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                      const float* rstd, int N, int C);

// out = (inp - mean) * rstd * weight + bias, per row of C; mean[N] and rstd[N] kept.
void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, int N, int C, float eps);
void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const float* weight, const float* mean, const float* rstd, int N, int C);

// out[N, OC] = inp[N, C] . weight[OC, C]^T + bias[OC]   (bias, dbias and dinp may be null).
// All three products are simd/matmul.h's strided GEMM; every output is computed the same way
// whatever the thread count.
void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int N, int C, int OC);
void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int N, int C, int OC, Dinp mode = Dinp::Accumulate);

// C[M, N] (+)= A[M, K] . B[K, N] over strides (GemmArgs in simd/matmul.h, all f32), on every
// thread when large and not already inside a parallel region, else on the calling thread.
void strided_gemm(float* c, long ldc, const float* a, long a_rs, long a_cs, const float* b, long b_rs, long b_cs,
                  int M, int N, int K, bool overwrite = false);

// Rotary embedding, adjacent pairs (Llama/llama2.c), at position t for row (b, t). Rows are C
// wide; the first n_heads*HS values are rotated, the rest copied (so a packed q|k|v row
// rotates q and k and passes v through). out may equal inp in forward.
void rope_forward(float* out, const float* inp, int B, int T, int C, int n_heads, int HS, float freq_base);
void rope_backward(float* dinp, const float* dout, int B, int T, int C, int n_heads, int HS, float freq_base,
                   Dinp mode = Dinp::Accumulate);

// Multi-head attention with grouped-query heads (NH % NKV == 0; query head h reads kv head
// h / (NH/NKV)). qkv rows are packed [q (NH*HS) | k (NKV*HS) | v (NKV*HS)]. Without lengths it
// is causal (query t sees keys t2 <= t); with lengths[B] it is bidirectional over padded
// sequences (every query of sequence b sees keys t2 < lengths[b], the padding after them
// none). out[B,T,NH*HS]; att[B,NH,T,T] keeps the softmax probabilities (zero where masked).
// datt[B,NH,T,T] in backward is scratch, overwritten.
void attention_forward(float* out, float* att, const float* qkv, int B, int T, int NH, int NKV, int HS,
                       const int* lengths = nullptr);
void attention_backward(float* dqkv, float* datt, const float* dout, const float* qkv, const float* att, int B,
                        int T, int NH, int NKV, int HS, Dinp mode = Dinp::Accumulate, const int* lengths = nullptr);

// out[N, H] = silu(gate) * up, where inp rows are packed [gate (H) | up (H)].
void swiglu_forward(float* out, const float* inp, int N, int H);
void swiglu_backward(float* dinp, const float* dout, const float* inp, int N, int H, Dinp mode = Dinp::Accumulate);

// out = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) over n values (GPT-2).
void gelu_forward(float* out, const float* inp, int n);
void gelu_backward(float* dinp, const float* dout, const float* inp, int n, Dinp mode = Dinp::Accumulate);
// out = x Phi(x) = 0.5 x (1 + erf(x / sqrt(2))) over n values (BERT).
void gelu_erf_forward(float* out, const float* inp, int n);
void gelu_erf_backward(float* dinp, const float* dout, const float* inp, int n, Dinp mode = Dinp::Accumulate);

// out = inp1 + inp2 over n values.
void residual_forward(float* out, const float* inp1, const float* inp2, int n);
void residual_backward(float* dinp1, float* dinp2, const float* dout, int n);

// Elman RNN with tanh (backprop through time over the T steps of each sequence):
// out[b,t] = tanh(inp[b,t] . wx^T + out[b,t-1] . wh^T + bias), out[b,-1] = 0.
// inp[B,T,C], out[B,T,H], wx[H,C], wh[H,H], bias[H]. dpre[B,T,H] in backward is scratch,
// overwritten (the gradient of the pre-activations).
void rnn_forward(float* out, const float* inp, const float* wx, const float* wh, const float* bias, int B, int T,
                 int C, int H);
void rnn_backward(float* dinp, float* dwx, float* dwh, float* dbias, float* dpre, const float* dout, const float* out,
                  const float* inp, const float* wx, const float* wh, int B, int T, int C, int H);

// Fused softmax + cross-entropy over V logits per row. probs[N, V] may equal logits.
// Returns the mean of -log probs[target] over rows whose target != ignore_index (0 if none).
float crossentropy_forward(float* probs, const float* logits, const int* targets, int N, int V, int ignore_index);
// dlogits += (probs - onehot(target)) / n_valid for every counted row: d(mean loss)/dlogits.
void crossentropy_backward(float* dlogits, const float* probs, const int* targets, int N, int V, int ignore_index);

}  // namespace lm

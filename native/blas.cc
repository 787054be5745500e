// The F32 matrix products of training on OpenBLAS's sgemm. ggml's own F32 GEMM (tinyBLAS) needs
// both operands contiguous along the reduced dimension, so every gradient product of ggml's
// autodiff needs transposed copies first (see MatmulBackward); sgemm reads either layout, packing
// as it goes, and its kernels are faster than ggml's on the AVX2 and AVX-512 CPUs measured here.
// OpenBLAS is opened at run time, so lethe builds and runs without it.
#include "blas.h"

#include <dlfcn.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace lethe {

namespace {

using Sgemm = void (*)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                       const float* b, int ldb, float beta, float* c, int ldc);
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;

struct Blas {
  Sgemm sgemm = nullptr;
  std::string name;
};

const Blas& blas() {
  static const Blas loaded = [] {
    Blas b;
    const char* setting = getenv("LETHE_BLAS");
    if (setting && strcmp(setting, "off") == 0) return b;
    void* lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return b;
    auto set_threads = reinterpret_cast<void (*)(int)>(dlsym(lib, "openblas_set_num_threads"));
    auto core = reinterpret_cast<const char* (*)()>(dlsym(lib, "openblas_get_corename"));
    auto sgemm = reinterpret_cast<Sgemm>(dlsym(lib, "cblas_sgemm"));
    if (!set_threads || !sgemm) return b;
    // Each of ggml's threads multiplies its own slice; OpenBLAS's own threads would compete with them.
    set_threads(1);
    b.sgemm = sgemm;
    b.name = std::string("OpenBLAS ") + (core ? core() : "");
    return b;
  }();
  return loaded;
}

// What a product node multiplies, per batch: D [rows, cols] = L [rows, k] · R [k, cols], D being
// the node's own contiguous output. For MUL_MAT(a, b) (dst[n][m] = sum_k a(k, m) b(k, n)) L is b
// and R is a; for OUT_PROD(a, b) (dst[j][i] = sum_k a(i, k) b(j, k)) L is b^T and R is a.
struct Product {
  int64_t rows, cols, k;
  // Strides in bytes of L and R along rows / k and k / cols.
  size_t l_row, l_k, r_k, r_col;
};

Product describe(const ggml_tensor* n, ggml_op op) {
  const ggml_tensor *a = n->src[0], *b = n->src[1];
  if (op == GGML_OP_MUL_MAT) return {b->ne[1], a->ne[1], a->ne[0], b->nb[1], b->nb[0], a->nb[0], a->nb[1]};
  return {b->ne[0], a->ne[0], a->ne[1], b->nb[0], b->nb[1], a->nb[1], a->nb[0]};
}

// How cblas reads a [rows, cols] operand with these byte strides: row-major (kNoTrans) or its
// transpose (kTrans), with leading dimension `ld`; 0 when neither stride is one float.
int layout(size_t row, size_t col, int64_t rows, int64_t cols, int& ld) {
  constexpr size_t f = sizeof(float);
  if (row % f || col % f) return 0;
  const int64_t r = static_cast<int64_t>(row / f), c = static_cast<int64_t>(col / f);
  if (c == 1 && r >= std::max<int64_t>(1, cols) && r <= INT32_MAX) return ld = static_cast<int>(r), kNoTrans;
  if (r == 1 && c >= std::max<int64_t>(1, rows) && c <= INT32_MAX) return ld = static_cast<int>(c), kTrans;
  return 0;
}

// `op` is the product the node was (it is a custom op now).
void multiply(ggml_tensor* dst, int ith, int nth, void* op) {
  const ggml_tensor *a = dst->src[0], *b = dst->src[1];
  const Product p = describe(dst, static_cast<ggml_op>(reinterpret_cast<intptr_t>(op)));
  int ldl = 0, ldr = 0;
  const int tl = layout(p.l_row, p.l_k, p.rows, p.k, ldl), tr = layout(p.r_k, p.r_col, p.k, p.cols, ldr);
  // Batches (attention's heads x sequences): b's, with a broadcast over them as ggml does.
  const int64_t ne2 = dst->ne[2], ne3 = dst->ne[3], batches = ne2 * ne3;
  const int64_t r2 = ne2 / a->ne[2], r3 = ne3 / a->ne[3];
  // Many batches: whole ones per thread; few: each batch's rows split between the threads.
  const int64_t chunks = batches >= nth ? 1 : nth, per = (p.rows + chunks - 1) / chunks;
  for (int64_t u = ith; u < batches * chunks; u += nth) {
    const int64_t batch = u / chunks, r0 = (u % chunks) * per, r1 = std::min(p.rows, r0 + per);
    if (r0 >= r1) continue;
    const int64_t i2 = batch % ne2, i3 = batch / ne2;
    const char* l = static_cast<const char*>(b->data) + i2 * b->nb[2] + i3 * b->nb[3] + r0 * p.l_row;
    const char* r = static_cast<const char*>(a->data) + (i2 / r2) * a->nb[2] + (i3 / r3) * a->nb[3];
    float* d = reinterpret_cast<float*>(static_cast<char*>(dst->data) + i2 * dst->nb[2] + i3 * dst->nb[3]) + r0 * p.cols;
    blas().sgemm(kRowMajor, tl, tr, static_cast<int>(r1 - r0), static_cast<int>(p.cols), static_cast<int>(p.k), 1.0f,
                 reinterpret_cast<const float*>(l), ldl, reinterpret_cast<const float*>(r), ldr, 0.0f, d, static_cast<int>(p.cols));
  }
}

}  // namespace

const std::string& BlasName() { return blas().name; }

bool UseBlas(ggml_context* ctx, ggml_tensor* n) {
  if (!blas().sgemm || (n->op != GGML_OP_MUL_MAT && n->op != GGML_OP_OUT_PROD)) return false;
  ggml_tensor *a = n->src[0], *b = n->src[1];
  if (a->type != GGML_TYPE_F32 || b->type != GGML_TYPE_F32 || n->type != GGML_TYPE_F32 || !ggml_is_contiguous(n)) return false;
  if (n->ne[2] % a->ne[2] || n->ne[3] % a->ne[3] || b->ne[2] != n->ne[2] || b->ne[3] != n->ne[3]) return false;
  const Product p = describe(n, n->op);
  int ld = 0;
  if (p.rows > INT32_MAX || p.cols > INT32_MAX || p.k > INT32_MAX) return false;
  if (!layout(p.l_row, p.l_k, p.rows, p.k, ld) || !layout(p.r_k, p.r_col, p.k, p.cols, ld)) return false;
  // ggml_custom_4d fills a custom op's parameters; the node takes them over in place, so that
  // every node that reads it keeps doing so.
  ggml_tensor* args[2] = {a, b};
  const ggml_tensor* op = ggml_custom_4d(ctx, GGML_TYPE_F32, 1, 1, 1, 1, args, 2, multiply, GGML_N_TASKS_MAX,
                                          reinterpret_cast<void*>(static_cast<intptr_t>(n->op)));
  memcpy(n->op_params, op->op_params, sizeof(n->op_params));
  n->op = GGML_OP_CUSTOM;
  return true;
}

}  // namespace lethe

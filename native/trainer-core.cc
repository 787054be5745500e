// lethe's trainer core: its own ggml graph for the Llama family, ggml autodiff, a weighted-target
// loss and AdamW on the host. Read top to bottom like llm.c: load weights, build the forward graph
// one block at a time, add the loss, let ggml derive the backward graph, then update parameters.
// It knows nothing of JS; trainer.cc is the N-API layer over it.
//
// Two modes. Full fine-tuning holds every weight in F32 and trains all of them. LoRA (Hu et al.
// 2021) freezes the base in its file's own type (F16, Q8_0, Q4_K, ...) and trains, beside each
// targeted matrix W, a pair A [n_in, r] and B [r, n_out] in F32: y = W x + (alpha / r) B (A x).
// Memory then scales with the file, not with 16 bytes per parameter.
//
// Shapes use ggml's ne order (fastest dimension first): C = n_embd, N = B*T tokens, V = vocab,
// hd = head dim, H = query heads, Hkv = key/value heads, F = feed-forward width.
#include "trainer-core.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <immintrin.h>
#include <map>
#include <memory>
#include <random>
#include <thread>

#include "backend.h"
#include "blas.h"

namespace lethe {

// ---- load: hyperparameters, weights, LoRA pairs, adapters ---------------------------------------

namespace {

// The type a frozen base tensor keeps in LoRA mode: its own where ggml's CPU backward can read it
// (mul_mat forward and out_prod for the input gradient take F32, F16 and the quantized types),
// F32 otherwise (BF16 and friends) and for vectors, which ggml_mul wants in F32.
ggml_type frozen_type(const ggml_tensor* src) {
  if (ggml_n_dims(src) < 2) return GGML_TYPE_F32;
  if (src->type == GGML_TYPE_F32 || src->type == GGML_TYPE_F16 || ggml_is_quantized(src->type)) return src->type;
  return GGML_TYPE_F32;
}

// Reads tensor i of the GGUF file `f` (header `g`, metadata tensor `src`) into `dst`: byte for byte
// when the types agree, else converted to F32. Returns an error, or "" once read.
std::string read_tensor(FILE* f, gguf_context* g, int64_t i, const ggml_tensor* src, ggml_tensor* dst,
                        const std::string& path, std::vector<uint8_t>& raw) {
  const char* name = ggml_get_name(src);
  const auto* traits = ggml_get_type_traits(src->type);
  if (src->type != dst->type && !traits->to_float) {
    return std::string("UNSUPPORTED: tensor ") + name + " of " + path + " has type " + ggml_type_name(src->type) +
           " which cannot be converted to F32";
  }
  raw.resize(ggml_nbytes(src));
  if (fseeko(f, static_cast<off_t>(gguf_get_data_offset(g) + gguf_get_tensor_offset(g, i)), SEEK_SET) != 0 ||
      fread(raw.data(), 1, raw.size(), f) != raw.size()) {
    return "FORMAT: " + path + " is truncated inside tensor " + name;
  }
  if (src->type == dst->type) {
    memcpy(dst->data, raw.data(), raw.size());
  } else {
    traits->to_float(raw.data(), static_cast<float*>(dst->data), ggml_nelements(src));
  }
  return "";
}

int64_t key_int(gguf_context* g, const std::string& key, int64_t fallback, bool required, std::string& err) {
  int64_t id = gguf_find_key(g, key.c_str());
  if (id < 0) {
    if (required) err = "missing metadata key " + key;
    return fallback;
  }
  switch (gguf_get_kv_type(g, id)) {
    case GGUF_TYPE_UINT32: return gguf_get_val_u32(g, id);
    case GGUF_TYPE_INT32: return gguf_get_val_i32(g, id);
    case GGUF_TYPE_UINT64: return static_cast<int64_t>(gguf_get_val_u64(g, id));
    case GGUF_TYPE_INT64: return gguf_get_val_i64(g, id);
    case GGUF_TYPE_UINT16: return gguf_get_val_u16(g, id);
    case GGUF_TYPE_ARRAY: return static_cast<int64_t>(gguf_get_arr_n(g, id));  // tokenizer.ggml.tokens
    default: err = "metadata key " + key + " is not an integer"; return fallback;
  }
}

float key_float(gguf_context* g, const std::string& key, float fallback) {
  int64_t id = gguf_find_key(g, key.c_str());
  if (id < 0) return fallback;
  if (gguf_get_kv_type(g, id) == GGUF_TYPE_FLOAT32) return gguf_get_val_f32(g, id);
  if (gguf_get_kv_type(g, id) == GGUF_TYPE_FLOAT64) return static_cast<float>(gguf_get_val_f64(g, id));
  return fallback;
}

}  // namespace

std::string TrainerCore::Load(const std::string& path, const TrainerConfig& config) {
  path_ = path;
  threads_ = config.threads;
  matmul_type_ = config.matmul_type;
  lora_ = config.lora;
  forward_only_ = config.forward_only;
  std::string err = ReadModel(config.train_embeddings);
  if (err.empty()) {
    // Every flat gather index (n mod P) * V + t must stay below 2^31.
    const int64_t bound = (int64_t{1} << 31) / std::max<int64_t>(1, hp_.n_vocab);
    const int64_t gather = config.gather_positions;
    if (gather > bound) {
      err = "CONFIG: gatherPositions " + std::to_string(gather) + " is past 2^31 / vocabulary = " + std::to_string(bound);
    }
    // By default a chunk's [V, Nc] tensors hold at most kHeadChunkFloats values: the logits and
    // probabilities of every chunk are graph outputs, but the two gradients of a chunk are freed
    // before the next chunk's are made, so at a 128k vocabulary a 512-token micro-batch keeps
    // 2 x 65 MB of gradients alive instead of 2 x 262 MB.
    const int64_t chunk = std::max<int64_t>(1, kHeadChunkFloats / std::max<int64_t>(1, hp_.n_vocab));
    gather_positions_ = gather > 0 ? gather : std::min(bound, chunk);
  }
  if (!err.empty()) Free();
  return err;
}

std::string TrainerCore::ReadModel(bool train_embeddings) {
  std::string err = ReadHparams();
  if (!err.empty()) return err;

  // Trained tensors are F32 copies (F16 weights train silently flat); a LoRA base stays frozen in
  // its file's type.
  const int64_t n_tensors = gguf_get_n_tensors(gguf_);
  ggml_init_params ip = {static_cast<size_t>(n_tensors + 8) * ggml_tensor_overhead(), nullptr, true};
  ctx_w_ = ggml_init(ip);
  for (int64_t i = 0; i < n_tensors; i++) {
    const char* name = gguf_get_tensor_name(gguf_, i);
    ggml_tensor* src = ggml_get_tensor(meta_, name);
    const ggml_type type = lora_.rank > 0 || forward_only_ ? frozen_type(src) : GGML_TYPE_F32;
    ggml_tensor* t = ggml_new_tensor(ctx_w_, type, ggml_n_dims(src), src->ne);
    ggml_set_name(t, name);
    weights_[name] = t;
  }
  backend_ = new_cpu_backend(threads_);
  if (!backend_) return "BACKEND: no CPU backend was loaded from the prebuilt binaries";
  buf_w_ = ggml_backend_alloc_ctx_tensors(ctx_w_, backend_);
  if (!buf_w_) return "ALLOC: not enough memory for the F32 weights of " + path_;
  if (!(err = ReadWeights()).empty()) return err;
  if (!(err = BindBlocks()).empty()) return err;
  galloc_ = ggml_gallocr_new(ggml_backend_get_default_buffer_type(backend_));
  if (forward_only_) return "";

  // Trainable tensors; ggml_set_param must precede graph building or ggml finds no parameters.
  if (lora_.rank > 0) {
    if (!(err = AddLora()).empty()) return err;
  } else {
    for (auto& kv : weights_) {
      ggml_tensor* t = kv.second;
      if (t == rope_freqs_) continue;
      if (t == tok_embd_ && !train_embeddings) continue;
      params_.push_back(t);
    }
  }
  for (ggml_tensor* t : params_) ggml_set_param(t);
  if (params_.empty()) return "CONFIG: no trainable tensors";

  // Gradient accumulators live outside the graph allocator so that they survive between
  // micro-batches; the loss gets one too, holding the seed gradient 1.
  ggml_init_params sp = {(params_.size() + 2) * ggml_tensor_overhead(), nullptr, true};
  ctx_static_ = ggml_init(sp);
  for (ggml_tensor* p : params_) {
    grad_accs_.push_back(ggml_new_tensor(ctx_static_, GGML_TYPE_F32, GGML_MAX_DIMS, p->ne));
    adam_m_.emplace_back(ggml_nelements(p), 0.0f);
    adam_v_.emplace_back(ggml_nelements(p), 0.0f);
  }
  loss_acc_ = ggml_new_tensor_1d(ctx_static_, GGML_TYPE_F32, 1);
  buf_static_ = ggml_backend_alloc_ctx_tensors(ctx_static_, backend_);
  if (!buf_static_) return "ALLOC: not enough memory for the gradient accumulators";
  return "";
}

std::string TrainerCore::ReadHparams() {
  ggml_context* meta = nullptr;
  gguf_init_params gp = {/*no_alloc =*/true, /*ctx =*/&meta};
  clear_native_error();
  gguf_ = gguf_init_from_file(path_.c_str(), gp);
  if (!gguf_) return "FORMAT: not a readable GGUF file: " + path_ + " " + last_native_error();
  meta_ = meta;

  std::string err;
  int64_t arch_id = gguf_find_key(gguf_, "general.architecture");
  if (arch_id < 0) return "FORMAT: " + path_ + " has no general.architecture";
  hp_.arch = gguf_get_val_str(gguf_, arch_id);
  if (hp_.arch != "llama" && hp_.arch != "qwen2") {
    return "UNSUPPORTED: architecture '" + hp_.arch + "' is not in the Llama family lethe trains (llama, qwen2)";
  }
  const std::string a = hp_.arch + ".";
  hp_.n_embd = key_int(gguf_, a + "embedding_length", 0, true, err);
  hp_.n_layer = key_int(gguf_, a + "block_count", 0, true, err);
  hp_.n_head = key_int(gguf_, a + "attention.head_count", 0, true, err);
  hp_.n_head_kv = key_int(gguf_, a + "attention.head_count_kv", hp_.n_head, false, err);
  hp_.n_ff = key_int(gguf_, a + "feed_forward_length", 0, true, err);
  hp_.n_ctx_train = key_int(gguf_, a + "context_length", 0, true, err);
  if (!err.empty()) return "FORMAT: " + err;
  if (hp_.n_head <= 0 || hp_.n_head_kv <= 0 || hp_.n_head % hp_.n_head_kv != 0 || hp_.n_embd % hp_.n_head != 0) {
    return "UNSUPPORTED: head counts (" + std::to_string(hp_.n_head) + ", kv " + std::to_string(hp_.n_head_kv) +
           ") do not divide the embedding width " + std::to_string(hp_.n_embd);
  }
  hp_.head_dim = key_int(gguf_, a + "attention.key_length", hp_.n_embd / hp_.n_head, false, err);
  hp_.n_rot = key_int(gguf_, a + "rope.dimension_count", hp_.head_dim, false, err);
  if (hp_.head_dim * hp_.n_head != hp_.n_embd) return "UNSUPPORTED: attention.key_length differs from n_embd / n_head";
  hp_.rope_base = key_float(gguf_, a + "rope.freq_base", 10000.0f);
  hp_.rope_scale = 1.0f / key_float(gguf_, a + "rope.scaling.factor", 1.0f);
  hp_.rms_eps = key_float(gguf_, a + "attention.layer_norm_rms_epsilon", 1e-5f);
  hp_.rope_mode = hp_.arch == "qwen2" ? GGML_ROPE_TYPE_NEOX : 0;
  return "";
}

std::string TrainerCore::ReadWeights() {
  FILE* f = fopen(path_.c_str(), "rb");
  if (!f) return "IO: cannot open " + path_;
  std::unique_ptr<FILE, int (*)(FILE*)> guard(f, fclose);
  std::vector<uint8_t> raw;
  for (int64_t i = 0; i < gguf_get_n_tensors(gguf_); i++) {
    const char* name = gguf_get_tensor_name(gguf_, i);
    const std::string err = read_tensor(f, gguf_, i, ggml_get_tensor(meta_, name), weights_[name], path_, raw);
    if (!err.empty()) return err;
  }
  return "";
}

ggml_tensor* TrainerCore::W(const std::string& name, std::vector<int64_t> shape, bool required, std::string& err) {
  auto it = weights_.find(name);
  if (it == weights_.end()) {
    if (required && err.empty()) err = "UNSUPPORTED: the model has no tensor " + name;
    return nullptr;
  }
  ggml_tensor* t = it->second;
  for (size_t d = 0; d < shape.size(); d++) {
    if (t->ne[d] != shape[d] && err.empty()) {
      err = "FORMAT: tensor " + name + " has an unexpected shape";
    }
  }
  used_.insert(name);
  return t;
}

std::string TrainerCore::BindBlocks() {
  std::string err;
  const int64_t C = hp_.n_embd, Ckv = hp_.head_dim * hp_.n_head_kv, F = hp_.n_ff;
  tok_embd_ = W("token_embd.weight", {C}, true, err);
  if (tok_embd_) hp_.n_vocab = tok_embd_->ne[1];
  const int64_t V = hp_.n_vocab;
  output_norm_ = W("output_norm.weight", {C}, true, err);
  output_ = W("output.weight", {C, V}, false, err);
  if (!output_) output_ = tok_embd_;  // tied embeddings
  rope_freqs_ = W("rope_freqs.weight", {hp_.n_rot / 2}, false, err);
  for (int64_t l = 0; l < hp_.n_layer; l++) {
    const std::string p = "blk." + std::to_string(l) + ".";
    Block b;
    b.attn_norm = W(p + "attn_norm.weight", {C}, true, err);
    b.wq = W(p + "attn_q.weight", {C, C}, true, err);
    b.wk = W(p + "attn_k.weight", {C, Ckv}, true, err);
    b.wv = W(p + "attn_v.weight", {C, Ckv}, true, err);
    b.wo = W(p + "attn_output.weight", {C, C}, true, err);
    b.bq = W(p + "attn_q.bias", {C}, false, err);
    b.bk = W(p + "attn_k.bias", {Ckv}, false, err);
    b.bv = W(p + "attn_v.bias", {Ckv}, false, err);
    b.ffn_norm = W(p + "ffn_norm.weight", {C}, true, err);
    b.w_gate = W(p + "ffn_gate.weight", {C, F}, true, err);
    b.w_up = W(p + "ffn_up.weight", {C, F}, true, err);
    b.w_down = W(p + "ffn_down.weight", {F, C}, true, err);
    blocks_.push_back(b);
  }
  if (!err.empty()) return err;
  for (auto& kv : weights_) {
    if (!used_.count(kv.first)) {
      return "UNSUPPORTED: tensor " + kv.first + " is not part of the Llama graph lethe trains";
    }
  }
  return "";
}

// One A, B pair per targeted matrix, in block order. A starts as PEFT's (Kaiming-uniform, bound
// 1/sqrt(n_in)) and B at zero, so the first forward is exactly the base model's.
std::string TrainerCore::AddLora() {
  const std::set<std::string> targets(lora_.targets.begin(), lora_.targets.end());
  std::vector<std::pair<std::string, ggml_tensor*>> chosen;
  for (const Block& b : blocks_) {
    const std::pair<const char*, ggml_tensor*> kinds[] = {{"attn_q", b.wq},     {"attn_k", b.wk},   {"attn_v", b.wv},
                                                          {"attn_output", b.wo}, {"ffn_gate", b.w_gate}, {"ffn_up", b.w_up},
                                                          {"ffn_down", b.w_down}};
    for (const auto& [kind, w] : kinds) {
      if (targets.count(kind)) chosen.emplace_back(ggml_get_name(w), w);
    }
  }
  if (chosen.empty()) return "CONFIG: no tensor of the model matches the LoRA targets";
  ggml_init_params ip = {(2 * chosen.size() + 1) * ggml_tensor_overhead(), nullptr, true};
  ctx_lora_ = ggml_init(ip);
  for (const auto& [name, w] : chosen) {
    const int64_t n_in = w->ne[0], n_out = w->ne[1];
    if (lora_.rank > std::min(n_in, n_out)) {
      return "CONFIG: LoRA rank " + std::to_string(lora_.rank) + " is larger than " + name + " (" + std::to_string(n_in) +
             " x " + std::to_string(n_out) + ")";
    }
    LoraPair p{ggml_new_tensor_2d(ctx_lora_, GGML_TYPE_F32, n_in, lora_.rank),
               ggml_new_tensor_2d(ctx_lora_, GGML_TYPE_F32, lora_.rank, n_out)};
    ggml_set_name(p.a, (name + ".lora_a").c_str());
    ggml_set_name(p.b, (name + ".lora_b").c_str());
    lora_pairs_[w] = p;
    lora_order_.push_back(w);
    lora_tensors_[ggml_get_name(p.a)] = p.a;
    lora_tensors_[ggml_get_name(p.b)] = p.b;
    params_.push_back(p.a);
    params_.push_back(p.b);
  }
  buf_lora_ = ggml_backend_alloc_ctx_tensors(ctx_lora_, backend_);
  if (!buf_lora_) return "ALLOC: not enough memory for the LoRA tensors";
  std::mt19937 rng(lora_.seed);
  for (ggml_tensor* w : lora_order_) {
    const LoraPair& p = lora_pairs_[w];
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    const float bound = 1.0f / std::sqrt(static_cast<float>(w->ne[0]));
    float* a = static_cast<float*>(p.a->data);
    for (int64_t j = 0; j < ggml_nelements(p.a); j++) a[j] = bound * u(rng);
    memset(p.b->data, 0, ggml_nbytes(p.b));
  }
  return lora_.adapter.empty() ? "" : ReadAdapter(lora_.adapter);
}

// Continues from an adapter lethe (or llama.cpp's converter) wrote: it must hold exactly this
// run's pairs, for this architecture and these shapes.
std::string TrainerCore::ReadAdapter(const std::string& path) {
  ggml_context* meta = nullptr;
  gguf_init_params gp = {/*no_alloc =*/true, /*ctx =*/&meta};
  gguf_context* g = gguf_init_from_file(path.c_str(), gp);
  if (!g) return "FORMAT: not a readable GGUF adapter: " + path;
  std::unique_ptr<gguf_context, void (*)(gguf_context*)> gguard(g, gguf_free);
  std::unique_ptr<ggml_context, void (*)(ggml_context*)> mguard(meta, ggml_free);
  auto str = [&](const char* key) {
    const int64_t id = gguf_find_key(g, key);
    return id >= 0 && gguf_get_kv_type(g, id) == GGUF_TYPE_STRING ? std::string(gguf_get_val_str(g, id)) : std::string();
  };
  if (str("general.type") != "adapter" || str("adapter.type") != "lora") {
    return "FORMAT: " + path + " is not a LoRA adapter (general.type must be \"adapter\", adapter.type \"lora\")";
  }
  if (str("general.architecture") != hp_.arch) {
    return "CONFIG: adapter " + path + " is for architecture \"" + str("general.architecture") + "\", the model is \"" +
           hp_.arch + "\"";
  }
  const int64_t n = gguf_get_n_tensors(g);
  if (n != static_cast<int64_t>(lora_tensors_.size())) {
    return "CONFIG: adapter " + path + " has " + std::to_string(n) + " tensors; this run trains " +
           std::to_string(lora_tensors_.size()) + " (rank and targets must match the adapter's)";
  }
  FILE* f = fopen(path.c_str(), "rb");
  if (!f) return "IO: cannot open " + path;
  std::unique_ptr<FILE, int (*)(FILE*)> fguard(f, fclose);
  std::vector<uint8_t> raw;
  for (int64_t i = 0; i < n; i++) {
    const char* name = gguf_get_tensor_name(g, i);
    auto it = lora_tensors_.find(name);
    ggml_tensor* src = ggml_get_tensor(meta, name);
    if (it == lora_tensors_.end()) return std::string("CONFIG: adapter tensor ") + name + " is not one this run trains";
    if (!ggml_are_same_shape(src, it->second)) {
      return std::string("CONFIG: adapter tensor ") + name + " has another shape than this base and rank give";
    }
    const std::string err = read_tensor(f, g, i, src, it->second, path, raw);
    if (!err.empty()) return err;
  }
  return "";
}

// ---- the forward graph, one block at a time -----------------------------------------------------

// W x, plus the LoRA update (alpha / r) B (A x) where W has a pair: llama.cpp's own order of
// operations, so an adapter reproduces the trainer's logits there.
ggml_tensor* TrainerCore::Mm(ggml_context* ctx, ggml_tensor* w, ggml_tensor* x) {
  ggml_tensor* y = ggml_mul_mat(ctx, w, x);
  auto it = lora_pairs_.find(w);
  if (it == lora_pairs_.end()) return y;
  ggml_tensor* ab = ggml_mul_mat(ctx, it->second.b, ggml_mul_mat(ctx, it->second.a, x));
  return ggml_add(ctx, y, ggml_scale(ctx, ab, lora_.alpha / static_cast<float>(lora_.rank)));
}

// x: [C, N] -> [C, N]; one transformer block.
ggml_tensor* TrainerCore::BuildBlock(ggml_context* ctx, ggml_tensor* x, const Block& b, ggml_tensor* pos, int64_t B,
                                     int64_t T) {
  const int64_t C = hp_.n_embd, hd = hp_.head_dim, H = hp_.n_head, Hkv = hp_.n_head_kv, N = B * T;
  const int64_t r = H / Hkv;

  // attention: h = rmsnorm(x) * g
  ggml_tensor* h = ggml_mul(ctx, ggml_rms_norm(ctx, x, hp_.rms_eps), b.attn_norm);
  ggml_tensor* q = Mm(ctx, b.wq, h);  // [C, N]
  ggml_tensor* k = Mm(ctx, b.wk, h);  // [Ckv, N]
  ggml_tensor* v = Mm(ctx, b.wv, h);  // [Ckv, N]
  if (b.bq) q = ggml_add(ctx, q, b.bq);
  if (b.bk) k = ggml_add(ctx, k, b.bk);
  if (b.bv) v = ggml_add(ctx, v, b.bv);
  q = Rope(ctx, ggml_reshape_3d(ctx, q, hd, H, N), pos);    // [hd, H, N]
  k = Rope(ctx, ggml_reshape_3d(ctx, k, hd, Hkv, N), pos);  // [hd, Hkv, N]

  // Per-sequence attention with heads and sequences merged into one batch dimension, so that
  // every mul_mat is 3-D without broadcasting (the mul_mat backward needs ne[3] == 1).
  q = ggml_cont(ctx, ggml_permute(ctx, ggml_reshape_4d(ctx, q, hd, H, T, B), 0, 2, 1, 3));    // [hd, T, H, B]
  k = ggml_cont(ctx, ggml_permute(ctx, ggml_reshape_4d(ctx, k, hd, Hkv, T, B), 0, 2, 1, 3));  // [hd, T, Hkv, B]
  ggml_tensor* vt =
      ggml_cont(ctx, ggml_permute(ctx, ggml_reshape_4d(ctx, v, hd, Hkv, T, B), 1, 2, 0, 3));  // [T, hd, Hkv, B]
  if (r > 1) {
    // GQA: query head h reads kv head h / r, as llama.cpp's broadcast does.
    k = ggml_repeat_4d(ctx, ggml_reshape_4d(ctx, k, hd * T, 1, Hkv, B), hd * T, r, Hkv, B);
    vt = ggml_repeat_4d(ctx, ggml_reshape_4d(ctx, vt, T * hd, 1, Hkv, B), T * hd, r, Hkv, B);
  }
  q = ggml_reshape_3d(ctx, q, hd, T, H * B);
  k = ggml_reshape_3d(ctx, k, hd, T, H * B);
  vt = ggml_reshape_3d(ctx, vt, T, hd, H * B);

  ggml_tensor* att = ggml_mul_mat(ctx, k, q);  // [T_k, T_q, H*B]
  att = ggml_scale(ctx, att, 1.0f / std::sqrt(static_cast<float>(hd)));
  att = ggml_diag_mask_inf(ctx, att, 0);
  att = ggml_soft_max(ctx, att);
  // Without this the allocator may run SOFT_MAX_BACK in place over the softmax output and the
  // gradients come out silently wrong.
  ggml_set_output(att);
  ggml_tensor* o = ggml_mul_mat(ctx, vt, att);  // [hd, T_q, H*B]
  o = ggml_cont(ctx, ggml_permute(ctx, ggml_reshape_4d(ctx, o, hd, T, H, B), 0, 2, 1, 3));  // [hd, H, T, B]
  o = Mm(ctx, b.wo, ggml_reshape_2d(ctx, o, C, N));                              // [C, N]
  x = ggml_add(ctx, x, o);

  // feed-forward: SwiGLU, in the split form that has a backward pass
  h = ggml_mul(ctx, ggml_rms_norm(ctx, x, hp_.rms_eps), b.ffn_norm);
  ggml_tensor* g = ggml_swiglu_split(ctx, Mm(ctx, b.w_gate, h), Mm(ctx, b.w_up, h));  // [F, N]
  return ggml_add(ctx, x, Mm(ctx, b.w_down, g));
}

ggml_tensor* TrainerCore::Rope(ggml_context* ctx, ggml_tensor* t, ggml_tensor* pos) {
  return ggml_rope_ext(ctx, t, pos, rope_freqs_, hp_.n_rot, hp_.rope_mode, hp_.n_ctx_train, hp_.rope_base,
                       hp_.rope_scale, 0.0f, 1.0f, 32.0f, 1.0f);
}

// ---- the loss -----------------------------------------------------------------------------------

// The output head and loss of Nc positions, one gather chunk:
//   x [C, Nc] -> logits [V, Nc] -> L_c = -sum_j w_j * log softmax(logits[:, n_j])[t_j]
// pick [Mc] holds each pair's flat index (n_j - n0) * V + t_j into the chunk's [V, Nc]
// probabilities, pick_w [1, Mc] its weight, already divided by the step's normaliser.
ggml_tensor* TrainerCore::HeadLoss(ggml_context* ctx, ggml_tensor* x, ggml_tensor* pick, ggml_tensor* pick_w) {
  const int64_t V = hp_.n_vocab, Nc = x->ne[1];
  ggml_tensor* logits = ggml_mul_mat(ctx, output_, x);  // [V, Nc]
  ggml_set_output(logits);
  logits_.push_back(logits);
  ggml_tensor* probs = ggml_soft_max(ctx, logits);  // [V, Nc]
  ggml_set_output(probs);
  ggml_tensor* picked = ggml_get_rows(ctx, ggml_reshape_2d(ctx, probs, 1, V * Nc), pick);  // [1, Mc]
  // The tiny bias keeps log finite where a probability underflows to 0 (masked pairs, or ascent
  // driving a target to 0); it is below float resolution for any probability above ~1e-23.
  ggml_tensor* logp = ggml_log(ctx, ggml_scale_bias(ctx, picked, 1.0f, 1e-30f));
  return ggml_scale(ctx, ggml_sum(ctx, ggml_mul(ctx, logp, pick_w)), -1.0f);
}

// L = sum over chunks of HeadLoss. ggml_get_rows takes int32 indices, and a flat index n * V + t
// over all N positions would wrap once N * V reaches 2^31 (16k positions of a 151,936-token
// vocabulary), so the head runs on chunks of at most gather_positions_ positions, each gathering
// within its own [V, Nc] block. An ordinary batch is one chunk, and then the graph has no views.
std::string TrainerCore::EnsureGraph(int64_t B, int64_t T, int64_t K) {
  if (gf_ && B == B_ && T == T_ && K == K_) return "";
  if (ctx_c_) ggml_free(ctx_c_);
  B_ = B, T_ = T, K_ = K;
  const int64_t N = B * T, C = hp_.n_embd, M = N * K;
  const int64_t P = std::min(N, gather_positions_), chunks = (N + P - 1) / P;
  // The graph budget grows with depth (~130 backward nodes per layer) and with gather chunks
  // (~30 nodes each), with margin.
  graph_size_ = 512 + 512 * static_cast<size_t>(hp_.n_layer) + 64 * static_cast<size_t>(chunks);
  ggml_init_params ip = {ggml_tensor_overhead() * graph_size_ * 4 + ggml_graph_overhead_custom(graph_size_, true) * 2 +
                             ggml_graph_overhead_custom(2 * graph_size_, false),
                         nullptr, true};
  ctx_c_ = ggml_init(ip);
  if (!ctx_c_) return "ALLOC: could not create the graph context";
  ggml_context* ctx = ctx_c_;
  tokens_ = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, N);
  pos_ = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, N);
  pick_ = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, M);
  pick_w_ = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 1, M);
  for (ggml_tensor* t : {tokens_, pos_, pick_, pick_w_}) ggml_set_input(t);

  ggml_tensor* x = ggml_get_rows(ctx, tok_embd_, tokens_);  // [C, N]
  for (const Block& b : blocks_) x = BuildBlock(ctx, x, b, pos_, B, T);
  x = ggml_mul(ctx, ggml_rms_norm(ctx, x, hp_.rms_eps), output_norm_);

  logits_.clear();
  loss_ = nullptr;
  if (forward_only_) return AllocForward(ctx, x);
  for (int64_t n0 = 0; n0 < N; n0 += P) {
    const int64_t Nc = std::min(P, N - n0), Mc = Nc * K;
    ggml_tensor* loss = chunks == 1
        ? HeadLoss(ctx, x, pick_, pick_w_)
        : HeadLoss(ctx, ggml_view_2d(ctx, x, C, Nc, x->nb[1], n0 * x->nb[1]),  // [C, Nc]
                   ggml_view_1d(ctx, pick_, Mc, n0 * K * pick_->nb[0]),
                   ggml_view_2d(ctx, pick_w_, 1, Mc, pick_w_->nb[1], n0 * K * pick_w_->nb[1]));
    loss_ = loss_ ? ggml_add(ctx, loss_, loss) : loss;
  }
  ggml_set_loss(loss_);
  ggml_set_output(loss_);

  gf_ = ggml_new_graph_custom(ctx, graph_size_, true);
  ggml_build_forward_expand(gf_, loss_);
  return BuildBackward(ctx);
}

// Forward only: the logits of x [C, N] alone, without the loss's softmax and gathers, and with
// the F32 products on BLAS where every weight is F32 (see MatmulBackward).
std::string TrainerCore::AllocForward(ggml_context* ctx, ggml_tensor* x) {
  ggml_tensor* logits = ggml_mul_mat(ctx, output_, x);  // [V, N]
  ggml_set_output(logits);
  logits_.push_back(logits);
  gf_ = ggml_new_graph_custom(ctx, graph_size_, false);
  ggml_build_forward_expand(gf_, logits);
  if (BlasProducts()) {
    for (int i = 0; i < ggml_graph_n_nodes(gf_); i++) UseBlas(ctx, ggml_graph_node(gf_, i));
  }
  if (!ggml_gallocr_alloc_graph(galloc_, gf_)) {
    gf_ = nullptr;
    return "ALLOC: could not allocate the forward graph: " + last_native_error();
  }
  return "";
}

// BLAS only where every weight is F32: a product with an F16 or quantized weight rounds its input
// to that type, which turns BLAS's last-bit differences from ggml's into whole rounding steps, and
// the trainer's forward would no longer reproduce llama.cpp's on that model.
bool TrainerCore::BlasProducts() const {
  return matmul_type_ == GGML_TYPE_F32 &&
         std::all_of(weights_.begin(), weights_.end(), [](const auto& w) { return w.second->type == GGML_TYPE_F32; });
}

// ---- the backward graph -------------------------------------------------------------------------

// ggml's autodiff of gf, each parameter's gradient summed into its static accumulator.
std::string TrainerCore::BuildBackward(ggml_context* ctx) {
  gb_ = ggml_graph_dup(ctx, gf_, true);
  std::vector<ggml_tensor*> accs(ggml_graph_n_nodes(gf_), nullptr);
  for (int i = 0; i < ggml_graph_n_nodes(gf_); i++) {
    ggml_tensor* node = ggml_graph_node(gf_, i);
    if (node == loss_) accs[i] = loss_acc_;
    for (size_t p = 0; p < params_.size(); p++) {
      if (node == params_[p]) accs[i] = grad_accs_[p];
    }
  }
  ggml_build_backward_expand(ctx, gb_, accs.data());
  if (matmul_type_ != GGML_TYPE_F32) LowpForward(ctx);
  gt_ = MatmulBackward(ctx, gb_);
  // One allocation serves both graphs: gt starts with gf's nodes in gf's order, so gt's plan is
  // valid for running gf alone. (Allocating gf separately would leave data pointers that the
  // allocator then mistakes for external tensors when it plans gt.)
  if (!ggml_gallocr_alloc_graph(galloc_, gt_)) {
    gf_ = gb_ = gt_ = nullptr;
    return "ALLOC: could not allocate the training graph: " + last_native_error();
  }
  return "";
}

// Under BF16 the forward's products read a bfloat16 copy of each F32 weight, made each micro-batch;
// ggml's BF16 GEMM (AVX512-BF16) runs at about twice its F32 rate. This runs after autodiff, which
// only differentiates through F32 and F16 tensors: the backward it built reads the F32 weight, so
// the gradient reaches it unchanged and weights, gradients and AdamW stay F32, as under PyTorch's
// autocast. gf is rebuilt so that it holds the copies, each just before its first use.
void TrainerCore::LowpForward(ggml_context* ctx) {
  std::map<ggml_tensor*, ggml_tensor*> copies;
  for (int i = 0; i < ggml_graph_n_nodes(gf_); i++) {
    ggml_tensor* n = ggml_graph_node(gf_, i);
    ggml_tensor* w = n->src[0];
    // Weights are the graph's leaves; attention's products read activations.
    if (n->op != GGML_OP_MUL_MAT || w->op != GGML_OP_NONE || w->type != GGML_TYPE_F32) continue;
    ggml_tensor*& c = copies[w];
    if (!c) c = ggml_cast(ctx, w, matmul_type_);
    n->src[0] = c;
  }
  ggml_cgraph* f = ggml_new_graph_custom(ctx, graph_size_, false);
  for (int i = 0; i < ggml_graph_n_nodes(gf_); i++) ggml_build_forward_expand(f, ggml_graph_node(gf_, i));
  gf_ = f;
}

namespace {

// ggml's own rounding (ggml_compute_fp32_to_bf16): to nearest even, NaN kept quiet.
inline uint16_t bf16_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 64);
  return static_cast<uint16_t>((u + (0x7fffu + ((u >> 16) & 1u))) >> 16);
}

// Stores 8 floats of a transposed block: as they are, or rounded to BF16 as bf16_bits does.
__attribute__((target("avx2"))) inline void store8(float* out, __m256 v) { _mm256_storeu_ps(out, v); }
__attribute__((target("avx2"))) inline void store8(uint16_t* out, __m256 v) {
  const __m256i u = _mm256_castps_si256(v);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), lsb)), 16);
  const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
  const __m256i r = _mm256_blendv_epi8(rounded, _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(64)), nan);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1)));
}

// out[c * ldo + r] = in[r * ldi + c] for an 8 x 8 block, in registers.
template <typename Out>
__attribute__((target("avx2"))) void transpose8x8(const float* in, int64_t ldi, Out* out, int64_t ldo) {
  __m256 r[8], t[8];
  for (int k = 0; k < 8; k++) r[k] = _mm256_loadu_ps(in + k * ldi);
  for (int k = 0; k < 8; k += 2) {
    t[k] = _mm256_unpacklo_ps(r[k], r[k + 1]);
    t[k + 1] = _mm256_unpackhi_ps(r[k], r[k + 1]);
  }
  for (int k = 0; k < 8; k += 4) {
    r[k] = _mm256_shuffle_ps(t[k], t[k + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[k + 1] = _mm256_shuffle_ps(t[k], t[k + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[k + 2] = _mm256_shuffle_ps(t[k + 1], t[k + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[k + 3] = _mm256_shuffle_ps(t[k + 1], t[k + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int k = 0; k < 4; k++) {
    store8(out + k * ldo, _mm256_permute2f128_ps(r[k], r[k + 4], 0x20));
    store8(out + (k + 4) * ldo, _mm256_permute2f128_ps(r[k], r[k + 4], 0x31));
  }
}

const bool kAvx2 = __builtin_cpu_supports("avx2");

// dst = src^T, in F32 or BF16, for a contiguous F32 src [a, b, batches], 32 x 32 tiles at a time,
// so that the strided reads of a tile stay in L1, each tile 8 x 8 blocks transposed in registers
// where the CPU has AVX2. ggml's CPY of a transposed view walks one element at a time with a
// general strided copy's index arithmetic (and, F32 to F32, a memcpy call per element). CPU time
// of these copies per step at the bench's M shape, F32: 7.3 % through ggml, 4.6 % in scalar tiles;
// at the Oz small testbed's shape in BF16: 21 % through ggml, 14 % in scalar tiles.
template <typename Out, Out (*convert)(float)>
void transpose_tiled(ggml_tensor* dst, int ith, int nth, void*) {
  const ggml_tensor* src = dst->src[0];
  const int64_t a = src->ne[0], b = src->ne[1], batches = src->ne[2];
  constexpr int64_t kTile = 32;
  const int64_t tiles = (a + kTile - 1) / kTile, total = tiles * batches;
  const int64_t per = (total + nth - 1) / nth, first = ith * per, last = std::min(total, first + per);
  for (int64_t t = first; t < last; t++) {
    const int64_t k = t / tiles, i0 = (t % tiles) * kTile, i1 = std::min(a, i0 + kTile);
    const float* in = static_cast<const float*>(src->data) + k * a * b;
    Out* out = static_cast<Out*>(dst->data) + k * a * b;
    for (int64_t j0 = 0; j0 < b; j0 += kTile) {
      const int64_t j1 = std::min(b, j0 + kTile);
      // The 8 x 8 blocks that fit; the tile's ragged edges element by element.
      const int64_t i8 = kAvx2 ? i0 + (i1 - i0) / 8 * 8 : i0, j8 = kAvx2 ? j0 + (j1 - j0) / 8 * 8 : j0;
      for (int64_t i = i0; i < i8; i += 8) {
        for (int64_t j = j0; j < j8; j += 8) transpose8x8(in + j * a + i, a, out + i * b + j, b);
      }
      for (int64_t i = i0; i < i1; i++) {
        for (int64_t j = i < i8 ? j8 : j0; j < j1; j++) out[i * b + j] = convert(in[j * a + i]);
      }
    }
  }
}

inline float same(float f) { return f; }

// A contiguous x^T in `type`; the transposed view of a contiguous tensor of that type is that tensor itself.
ggml_tensor* transposed(ggml_context* ctx, ggml_tensor* x, ggml_type type) {
  if (x->op == GGML_OP_TRANSPOSE && ggml_is_contiguous(x->src[0]) && x->src[0]->type == type) return x->src[0];
  if ((type == GGML_TYPE_BF16 || type == GGML_TYPE_F32) && x->type == GGML_TYPE_F32 && ggml_is_contiguous(x) && x->ne[3] == 1) {
    ggml_custom_op_t op = type == GGML_TYPE_BF16 ? transpose_tiled<uint16_t, bf16_bits> : transpose_tiled<float, same>;
    return ggml_custom_4d(ctx, type, x->ne[1], x->ne[0], x->ne[2], 1, &x, 1, op, GGML_N_TASKS_MAX, nullptr);
  }
  ggml_tensor* t = ggml_transpose(ctx, x);
  return x->type == type ? ggml_cont(ctx, t) : ggml_cast(ctx, t, type);
}

}  // namespace

// ggml's autodiff writes both gradients of a matrix product as OUT_PROD, whose CPU kernel is a loop
// of vector multiply-adds. As llm.c writes its backward, both are matrix products: the weight
// gradient dW = X dY^T and the input gradient dX = W^T dY. Each OUT_PROD(a, b) (= a b^T over
// their second dimension) becomes MUL_MAT(a^T, b^T) on contiguous transposed copies, which runs on
// the blocked GEMM kernels the forward uses; a frozen F16 weight (a LoRA base) is transposed in
// F16, and its product then rounds dY to F16 as the forward rounds X (a LoRA step on an F16 model
// of the bench's M shape: 8.6 s instead of 44.7). Under BF16 (LowpForward) both copies are written in
// BF16, so the backward's products run on the BF16 GEMM too and the copies move half the bytes.
// Quantized weights (ggml cannot transpose them) keep OUT_PROD. Measured side by side (bench/engine.ts,
// zen4, 2 threads, two rounds): S 0.96x, M 1.18x, L 1.11x of ggml's own backward, M and L then at
// 84-86% of the GEMM peak. Attention's per-head products (many small matrices) gain only since the
// copies are tiled: in F32, steps interleaved in one process, S 4 %, M 1.5 %, L 0.7 % shorter (with
// ggml's copies they made S 0.89x), in BF16 7 % of a step's CPU time at the Oz small shape. The copies
// exist only in the returned graph, which is the one to run; gb keeps ggml's gradient bookkeeping,
// which ggml_graph_reset needs. Where OpenBLAS is installed, F32 products (forward ones included)
// run on its sgemm instead, which reads the untransposed operands (blas.cc): no copies, and a faster
// kernel (S 1.25-1.6x, M 1.2x, L 1.37x per F32 step against the copies and ggml's GEMM, zen4).
ggml_cgraph* TrainerCore::MatmulBackward(ggml_context* ctx, ggml_cgraph* gb) {
  // One copy per source: q, k and v read the same normed input, as do the FFN's gate and up.
  std::map<std::pair<ggml_tensor*, ggml_type>, ggml_tensor*> copies;
  auto transposed_once = [&](ggml_tensor* x, ggml_type type) {
    ggml_tensor*& t = copies[{x, type}];
    if (!t) t = transposed(ctx, x, type);
    return t;
  };
  const bool blas = BlasProducts();
  for (int i = 0; i < ggml_graph_n_nodes(gb); i++) {
    ggml_tensor* n = ggml_graph_node(gb, i);
    if (blas && UseBlas(ctx, n)) continue;
    if (n->op != GGML_OP_OUT_PROD) continue;
    const ggml_type ta = n->src[0]->type;
    if ((ta != GGML_TYPE_F32 && ta != GGML_TYPE_F16 && ta != GGML_TYPE_BF16) || n->src[1]->type != GGML_TYPE_F32) continue;
    // An F16 or BF16 weight keeps its type; F32 operands take the trainer's product type. The
    // second operand is F32 unless that type is BF16 (MUL_MAT converts F32 to F16 itself).
    const ggml_type type = ta == GGML_TYPE_F32 ? matmul_type_ : ta;
    ggml_tensor* a = transposed_once(n->src[0], type);
    ggml_tensor* b = transposed_once(n->src[1], type == GGML_TYPE_BF16 ? GGML_TYPE_BF16 : GGML_TYPE_F32);
    n->op = GGML_OP_MUL_MAT;
    n->src[0] = a;
    n->src[1] = b;
  }
  // Expanding gf's nodes and then gb's in order keeps their order (gf's first, so that gt's plan
  // is valid for running gf alone) and adds each copy just before its first use.
  ggml_cgraph* g = ggml_new_graph_custom(ctx, 2 * graph_size_, false);
  for (int i = 0; i < ggml_graph_n_nodes(gf_); i++) ggml_build_forward_expand(g, ggml_graph_node(gf_, i));
  for (int i = 0; i < ggml_graph_n_nodes(gb); i++) ggml_build_forward_expand(g, ggml_graph_node(gb, i));
  return g;
}

// ---- running micro-batches through the graphs ---------------------------------------------------

double abs_weight_sum(const std::vector<MicroBatch>& mbs) {
  double sum = 0;
  for (const MicroBatch& mb : mbs) {
    for (float x : mb.weights) sum += std::fabs(x);
  }
  return sum;
}

// `norm` divides every weight: sum|w| over the step, or the caller's normaliser.
void TrainerCore::SetInputs(const MicroBatch& mb, double norm) {
  const int64_t N = mb.B * mb.T, V = hp_.n_vocab, M = N * mb.K, P = std::min(N, gather_positions_);
  std::vector<int32_t> pos(N);
  for (int64_t i = 0; i < N; i++) pos[i] = static_cast<int32_t>(i % mb.T);
  ggml_backend_tensor_set(tokens_, mb.tokens.data(), 0, N * sizeof(int32_t));
  ggml_backend_tensor_set(pos_, pos.data(), 0, N * sizeof(int32_t));
  // A forward-only graph has no loss: its pick tensors were never allocated.
  if (forward_only_) return;
  std::vector<int32_t> pick(M);
  std::vector<float> w(M);
  for (int64_t j = 0; j < M; j++) {
    const int64_t n = j / mb.K;
    const float wj = mb.weights[j];
    // The index within position n's gather chunk (see EnsureGraph); below P * V <= 2^31 by the
    // bound on gather_positions_. A masked pair points at its own position's row, so log stays
    // finite and w = 0 zeroes it.
    pick[j] = static_cast<int32_t>((n % P) * V + (wj != 0.0f ? mb.targets[j] : 0));
    w[j] = norm > 0 ? static_cast<float>(wj / norm) : 0.0f;
  }
  ggml_backend_tensor_set(pick_, pick.data(), 0, M * sizeof(int32_t));
  ggml_backend_tensor_set(pick_w_, w.data(), 0, M * sizeof(float));
}

float TrainerCore::ReadLoss() {
  float v = 0;
  ggml_backend_tensor_get(loss_, &v, 0, sizeof(float));
  return v;
}

std::string TrainerCore::Accumulate(const std::vector<MicroBatch>& mbs, double norm, const std::atomic<bool>& cancel,
                                    const std::function<void(size_t, size_t)>& progress, float& loss) {
  loss = 0;
  if (forward_only_) return "CONFIG: this model was loaded for its logits only and cannot train";
  bool reset_done = false;
  for (size_t i = 0; i < mbs.size(); i++) {
    if (cancel.load()) return "CANCELLED: training step";
    std::string err = EnsureGraph(mbs[i].B, mbs[i].T, mbs[i].K);
    if (!err.empty()) return err;
    if (!reset_done) {
      ggml_graph_reset(gb_);  // zero the gradient accumulators, seed d(loss)/d(loss) = 1
      reset_done = true;
    }
    SetInputs(mbs[i], norm);
    if (ggml_backend_graph_compute(backend_, gt_) != GGML_STATUS_SUCCESS) {
      return "COMPUTE: the training graph failed: " + last_native_error();
    }
    loss += ReadLoss();
    progress(i + 1, mbs.size());
  }
  return "";
}

std::string TrainerCore::ForwardOnly(const std::vector<MicroBatch>& mbs, double norm, float* logits_out, float& loss) {
  loss = 0;
  if (forward_only_ && norm > 0) return "CONFIG: this model was loaded for its logits only and has no loss";
  for (const MicroBatch& mb : mbs) {
    std::string err = EnsureGraph(mb.B, mb.T, mb.K);
    if (!err.empty()) return err;
    SetInputs(mb, norm);
    if (ggml_backend_graph_compute(backend_, gf_) != GGML_STATUS_SUCCESS) {
      return "COMPUTE: the forward graph failed: " + last_native_error();
    }
    loss += norm > 0 ? ReadLoss() : 0.0f;
    if (logits_out) {
      // The chunks' logits, in position order, are the micro-batch's [V, B*T].
      for (ggml_tensor* l : logits_) {
        ggml_backend_tensor_get(l, logits_out, 0, ggml_nbytes(l));
        logits_out += ggml_nelements(l);
      }
    }
  }
  return "";
}

// ---- the update ---------------------------------------------------------------------------------

namespace {

template <typename F>
void parallel_for(int64_t n, int threads, F fn) {
  if (threads <= 1 || n < 65536) return fn(0, n);
  std::vector<std::thread> pool;
  const int64_t chunk = (n + threads - 1) / threads;
  for (int t = 0; t < threads; t++) {
    const int64_t a = t * chunk, b = std::min(n, a + chunk);
    if (a < b) pool.emplace_back(fn, a, b);
  }
  for (auto& th : pool) th.join();
}

// The update reads a gradient, two moments and a weight per parameter and writes three: on a
// 110M-parameter model (the engine bench's L) it took 0.29 s of a 4.0 s step in scalar code, where
// the sum of squares is one dependent chain of double additions and each parameter costs a scalar
// division and square root. In AVX2 registers, operation for operation as the scalar code (IEEE
// division and square root, no fused multiply-adds), the update gives the same bits.
struct AdamWStep {
  float lr, beta1, beta2, eps, wd, scale, bc1, bc2;
};

void adamw_scalar(float* w, const float* g, float* m, float* v, int64_t n, const AdamWStep& c) {
  for (int64_t j = 0; j < n; j++) {
    const float gj = g[j] * c.scale;
    m[j] = c.beta1 * m[j] + (1.0f - c.beta1) * gj;
    v[j] = c.beta2 * v[j] + (1.0f - c.beta2) * gj * gj;
    const float mhat = m[j] / c.bc1, vhat = v[j] / c.bc2;
    w[j] -= c.lr * (mhat / (std::sqrt(vhat) + c.eps) + c.wd * w[j]);
  }
}

__attribute__((target("avx2"))) void adamw_avx2(float* w, const float* g, float* m, float* v, int64_t n, const AdamWStep& c) {
  const __m256 scale = _mm256_set1_ps(c.scale), b1 = _mm256_set1_ps(c.beta1), nb1 = _mm256_set1_ps(1.0f - c.beta1),
               b2 = _mm256_set1_ps(c.beta2), nb2 = _mm256_set1_ps(1.0f - c.beta2), bc1 = _mm256_set1_ps(c.bc1),
               bc2 = _mm256_set1_ps(c.bc2), eps = _mm256_set1_ps(c.eps), lr = _mm256_set1_ps(c.lr), wd = _mm256_set1_ps(c.wd);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 gj = _mm256_mul_ps(_mm256_loadu_ps(g + j), scale);
    const __m256 mj = _mm256_add_ps(_mm256_mul_ps(b1, _mm256_loadu_ps(m + j)), _mm256_mul_ps(nb1, gj));
    const __m256 vj = _mm256_add_ps(_mm256_mul_ps(b2, _mm256_loadu_ps(v + j)), _mm256_mul_ps(_mm256_mul_ps(nb2, gj), gj));
    _mm256_storeu_ps(m + j, mj);
    _mm256_storeu_ps(v + j, vj);
    const __m256 mhat = _mm256_div_ps(mj, bc1), vhat = _mm256_div_ps(vj, bc2), wj = _mm256_loadu_ps(w + j);
    const __m256 step = _mm256_add_ps(_mm256_div_ps(mhat, _mm256_add_ps(_mm256_sqrt_ps(vhat), eps)), _mm256_mul_ps(wd, wj));
    _mm256_storeu_ps(w + j, _mm256_sub_ps(wj, _mm256_mul_ps(lr, step)));
  }
  adamw_scalar(w + j, g + j, m + j, v + j, n - j, c);
}

double sum_squares_scalar(const float* x, int64_t n) {
  double acc = 0;
  for (int64_t j = 0; j < n; j++) acc += static_cast<double>(x[j]) * x[j];
  return acc;
}

// Eight running sums in double, so the additions no longer wait on each other.
__attribute__((target("avx2"))) double sum_squares_avx2(const float* x, int64_t n) {
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256d a = _mm256_cvtps_pd(_mm_loadu_ps(x + j)), b = _mm256_cvtps_pd(_mm_loadu_ps(x + j + 4));
    s0 = _mm256_add_pd(s0, _mm256_mul_pd(a, a));
    s1 = _mm256_add_pd(s1, _mm256_mul_pd(b, b));
  }
  double lanes[4];
  _mm256_storeu_pd(lanes, _mm256_add_pd(s0, s1));
  return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + sum_squares_scalar(x + j, n - j);
}

}  // namespace

float TrainerCore::Update(const AdamW& o) {
  double sq = 0;
  for (ggml_tensor* g : grad_accs_) {
    const float* d = static_cast<const float*>(g->data);
    std::vector<double> partial(threads_, 0.0);
    const int64_t n = ggml_nelements(g), chunk = (n + threads_ - 1) / threads_;
    parallel_for(n, threads_, [&](int64_t a, int64_t b) {
      partial[chunk > 0 ? a / chunk : 0] += kAvx2 ? sum_squares_avx2(d + a, b - a) : sum_squares_scalar(d + a, b - a);
    });
    for (double p : partial) sq += p;
  }
  const float norm = static_cast<float>(std::sqrt(sq));
  step_++;
  AdamWStep c = {o.lr, o.beta1, o.beta2, o.eps, 0.0f, (o.clip > 0 && norm > o.clip) ? o.clip / norm : 1.0f,
                 1.0f - std::pow(o.beta1, static_cast<float>(step_)), 1.0f - std::pow(o.beta2, static_cast<float>(step_))};
  for (size_t i = 0; i < params_.size(); i++) {
    float* w = static_cast<float*>(params_[i]->data);
    const float* g = static_cast<const float*>(grad_accs_[i]->data);
    float* m = adam_m_[i].data();
    float* v = adam_v_[i].data();
    // Decay matrices only, as nanoGPT does: norms and biases keep their scale.
    c.wd = ggml_n_dims(params_[i]) >= 2 ? o.weight_decay : 0.0f;
    parallel_for(ggml_nelements(params_[i]), threads_, [&](int64_t a, int64_t b) {
      (kAvx2 ? adamw_avx2 : adamw_scalar)(w + a, g + a, m + a, v + a, b - a, c);
    });
  }
  return norm;
}

// ---- saving and reading back --------------------------------------------------------------------

std::vector<float> to_f32(const ggml_tensor* t) {
  std::vector<float> out(ggml_nelements(t));
  if (t->type == GGML_TYPE_F32) {
    memcpy(out.data(), t->data, ggml_nbytes(t));
  } else {
    ggml_get_type_traits(t->type)->to_float(t->data, out.data(), ggml_nelements(t));
  }
  return out;
}

// Under LoRA this is the merged model W + (alpha / r) B A; a tensor without a pair that keeps its
// type is copied byte for byte, so an untouched quantized tensor loses nothing.
std::string TrainerCore::Save(const std::string& out, bool keep_types) {
  gguf_context* g = gguf_init_empty();
  std::unique_ptr<gguf_context, void (*)(gguf_context*)> gguard(g, gguf_free);
  gguf_set_kv(g, gguf_);
  const int64_t n = gguf_get_n_tensors(gguf_);
  ggml_init_params ip = {static_cast<size_t>(n + 1) * ggml_tensor_overhead(), nullptr, true};
  ggml_context* tctx = ggml_init(ip);
  std::unique_ptr<ggml_context, void (*)(ggml_context*)> cguard(tctx, ggml_free);
  std::vector<std::vector<uint8_t>> converted;
  converted.reserve(n);
  bool all_f32 = true;
  for (int64_t i = 0; i < n; i++) {
    const char* name = gguf_get_tensor_name(gguf_, i);
    ggml_tensor* w = weights_[name];
    ggml_type type = keep_types ? gguf_get_tensor_type(gguf_, i) : GGML_TYPE_F32;
    if (type != GGML_TYPE_F32 && type != GGML_TYPE_F16 && type != GGML_TYPE_BF16 &&
        !ggml_get_type_traits(type)->from_float_ref) {
      type = GGML_TYPE_F32;
    }
    all_f32 = all_f32 && type == GGML_TYPE_F32;
    ggml_tensor* t = ggml_new_tensor(tctx, type, ggml_n_dims(w), w->ne);
    ggml_set_name(t, name);
    converted.emplace_back(ggml_nbytes(t));
    const bool merge = lora_pairs_.count(w) > 0;
    if (!merge && w->type == type) {
      memcpy(converted.back().data(), w->data, ggml_nbytes(t));
      t->data = converted.back().data();
      gguf_add_tensor(g, t);
      continue;
    }
    std::vector<float> merged = to_f32(w);
    if (merge) AddLoraDelta(w, merged.data());
    const float* src = merged.data();
    if (type == GGML_TYPE_F32) {
      memcpy(converted.back().data(), src, ggml_nbytes(t));
    } else if (type == GGML_TYPE_F16) {
      ggml_fp32_to_fp16_row(src, reinterpret_cast<ggml_fp16_t*>(converted.back().data()), ggml_nelements(t));
    } else if (type == GGML_TYPE_BF16) {
      ggml_fp32_to_bf16_row(src, reinterpret_cast<ggml_bf16_t*>(converted.back().data()), ggml_nelements(t));
    } else {
      ggml_quantize_chunk(type, src, converted.back().data(), 0, ggml_nrows(t), t->ne[0], nullptr);
    }
    t->data = converted.back().data();
    gguf_add_tensor(g, t);
  }
  if (all_f32) gguf_set_val_u32(g, "general.file_type", 0);
  if (!gguf_write_to_file(g, out.c_str(), false)) return "IO: could not write " + out + ": " + last_native_error();
  return "";
}

// W += (alpha / r) B A, with W [n_in, n_out], A [n_in, r], B [r, n_out] in ggml's order, so
// W[o][i] += scale * sum_k B[o][k] A[k][i].
void TrainerCore::AddLoraDelta(ggml_tensor* w, float* out) {
  const LoraPair& p = lora_pairs_.at(w);
  const int64_t n_in = w->ne[0], n_out = w->ne[1], r = lora_.rank;
  const float scale = lora_.alpha / static_cast<float>(r);
  const float* a = static_cast<const float*>(p.a->data);
  const float* b = static_cast<const float*>(p.b->data);
  parallel_for(n_out * n_in, threads_, [&](int64_t lo, int64_t hi) {
    for (int64_t o = lo / n_in; o * n_in < hi; o++) {
      float* row = out + o * n_in;
      for (int64_t k = 0; k < r; k++) {
        const float bk = scale * b[o * r + k];
        const float* ak = a + k * n_in;
        for (int64_t i = std::max<int64_t>(0, lo - o * n_in); i < std::min(n_in, hi - o * n_in); i++) row[i] += bk * ak[i];
      }
    }
  });
}

// llama.cpp's adapter format (general.type "adapter", adapter.type "lora", adapter.lora.alpha),
// loadable by llama.cpp, node-llama-cpp and Ollama on the same base.
std::string TrainerCore::SaveAdapter(const std::string& out) {
  gguf_context* g = gguf_init_empty();
  std::unique_ptr<gguf_context, void (*)(gguf_context*)> gguard(g, gguf_free);
  gguf_set_val_str(g, "general.architecture", hp_.arch.c_str());
  gguf_set_val_str(g, "general.type", "adapter");
  const int64_t name_id = gguf_find_key(gguf_, "general.name");
  if (name_id >= 0 && gguf_get_kv_type(gguf_, name_id) == GGUF_TYPE_STRING) {
    gguf_set_val_str(g, "general.name", (std::string(gguf_get_val_str(gguf_, name_id)) + " (lethe LoRA)").c_str());
  }
  gguf_set_val_str(g, "adapter.type", "lora");
  gguf_set_val_f32(g, "adapter.lora.alpha", lora_.alpha);
  for (ggml_tensor* w : lora_order_) {
    gguf_add_tensor(g, lora_pairs_[w].a);
    gguf_add_tensor(g, lora_pairs_[w].b);
  }
  if (!gguf_write_to_file(g, out.c_str(), false)) return "IO: could not write " + out + ": " + last_native_error();
  return "";
}

ggml_tensor* TrainerCore::Named(const std::string& name) const {
  auto it = weights_.find(name);
  if (it != weights_.end()) return it->second;
  it = lora_tensors_.find(name);
  return it == lora_tensors_.end() ? nullptr : it->second;
}

const float* TrainerCore::Gradient(const ggml_tensor* t) const {
  for (size_t p = 0; p < params_.size(); p++) {
    if (params_[p] == t) return static_cast<const float*>(grad_accs_[p]->data);
  }
  return nullptr;
}

void TrainerCore::SetThreads(int threads) {
  threads_ = threads;
  if (backend_) set_backend_threads(backend_, threads_);
}

void TrainerCore::Free() {
  if (galloc_) ggml_gallocr_free(galloc_);
  if (ctx_c_) ggml_free(ctx_c_);
  if (buf_static_) ggml_backend_buffer_free(buf_static_);
  if (ctx_static_) ggml_free(ctx_static_);
  if (buf_lora_) ggml_backend_buffer_free(buf_lora_);
  if (ctx_lora_) ggml_free(ctx_lora_);
  if (buf_w_) ggml_backend_buffer_free(buf_w_);
  if (ctx_w_) ggml_free(ctx_w_);
  if (backend_) ggml_backend_free(backend_);
  if (meta_) ggml_free(meta_);
  if (gguf_) gguf_free(gguf_);
  galloc_ = nullptr, ctx_c_ = nullptr, buf_static_ = nullptr, ctx_static_ = nullptr, buf_lora_ = nullptr, ctx_lora_ = nullptr;
  buf_w_ = nullptr, ctx_w_ = nullptr, backend_ = nullptr, meta_ = nullptr, gguf_ = nullptr;
  gf_ = gb_ = gt_ = nullptr;
  adam_m_.clear();
  adam_v_.clear();
}

}  // namespace lethe

// lethe's trainer core: the model, its graphs and the optimizer, with no N-API (trainer.cc wraps it
// for JS). Fallible calls return an error "CODE: message", or "" on success; the code is the one TS
// maps to a typed error class.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml.h"
#include "gguf.h"

namespace lethe {

struct Hparams {
  std::string arch;
  int64_t n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0, head_dim = 0, n_rot = 0;
  int64_t n_ctx_train = 0;
  float rope_base = 10000.0f, rope_scale = 1.0f, rms_eps = 1e-5f;
  int rope_mode = 0;  // 0 = NORM (llama), 2 = NEOX (qwen2)
};

struct Block {
  ggml_tensor *attn_norm, *wq, *wk, *wv, *wo, *bq = nullptr, *bk = nullptr, *bv = nullptr;
  ggml_tensor *ffn_norm, *w_gate, *w_up, *w_down;
};

// One micro-batch: B sequences of T tokens, K (target, weight) pairs per position.
struct MicroBatch {
  int64_t B, T, K;
  std::vector<int32_t> tokens;   // [B*T]
  std::vector<int32_t> targets;  // [B*T*K]
  std::vector<float> weights;    // [B*T*K]
};

// sum |w| over every pair of the step: the loss's normaliser unless the caller picks one.
double abs_weight_sum(const std::vector<MicroBatch>& mbs);

struct AdamW {
  float lr, beta1, beta2, eps, weight_decay, clip;
};

// rank 0 means full fine-tuning. `targets` are tensor kinds such as "attn_q" or "ffn_down";
// `adapter`, when set, is a GGUF LoRA adapter whose A and B replace the random start.
struct LoraConfig {
  int64_t rank = 0;
  float alpha = 0;
  std::vector<std::string> targets;
  uint32_t seed = 0;
  std::string adapter;
};

struct LoraPair {
  ggml_tensor *a, *b;  // a: [n_in, r], b: [r, n_out]; names <base tensor>.lora_a / .lora_b
};

struct TrainerConfig {
  int threads = 1;
  bool train_embeddings = false;
  // Caps the positions per loss gather below the int32 bound (tests only); 0 takes the bound.
  int64_t gather_positions = 0;
  // BF16 runs the matrix products of F32 weights in bfloat16 (see LowpForward); weights, gradients,
  // accumulation and the optimizer stay F32. Only where the CPU multiplies BF16 natively.
  ggml_type matmul_type = GGML_TYPE_F32;
  LoraConfig lora;
  // Logits only: weights in their file's types (as llama.cpp holds them), nothing trainable, no
  // gradients, optimizer state or backward graph. Training calls then fail.
  bool forward_only = false;
};

// A tensor's values as F32, whatever its type.
std::vector<float> to_f32(const ggml_tensor* t);

class TrainerCore {
 public:
  TrainerCore() = default;
  TrainerCore(const TrainerCore&) = delete;
  TrainerCore& operator=(const TrainerCore&) = delete;
  ~TrainerCore() { Free(); }

  // Reads the model at `path`; on failure holds nothing.
  std::string Load(const std::string& path, const TrainerConfig& config);

  // Forward + backward over all micro-batches, gradients accumulated in the static accumulators.
  // `loss` is the sum over micro-batches of each one's share of the normalised loss. `cancel` is
  // checked before each micro-batch, and `progress` told (done, total) after it.
  std::string Accumulate(const std::vector<MicroBatch>& mbs, double norm, const std::atomic<bool>& cancel,
                         const std::function<void(size_t, size_t)>& progress, float& loss);
  // Forward only; fills `logits_out` ([V, B*T] per micro-batch, concatenated) when given.
  std::string ForwardOnly(const std::vector<MicroBatch>& mbs, double norm, float* logits_out, float& loss);
  // AdamW over the accumulated gradients, with global-norm clipping. Returns the pre-clip norm.
  float Update(const AdamW& o);

  // Every tensor in source order, metadata copied: in F32, or with keep_types in its file's type
  // where ggml can write that type.
  std::string Save(const std::string& out, bool keep_types);
  // The A and B pairs as a GGUF LoRA adapter; only under LoRA.
  std::string SaveAdapter(const std::string& out);

  // A weight or a LoRA tensor by name; nullptr when there is none.
  ggml_tensor* Named(const std::string& name) const;
  // The accumulated gradient of `t`, or nullptr when `t` is not trainable.
  const float* Gradient(const ggml_tensor* t) const;

  bool open() const { return ctx_w_ != nullptr; }
  const Hparams& hp() const { return hp_; }
  const LoraConfig& lora() const { return lora_; }
  bool tied_embeddings() const { return output_ == tok_embd_; }
  const std::map<std::string, ggml_tensor*>& weights() const { return weights_; }
  const std::vector<ggml_tensor*>& params() const { return params_; }
  const std::vector<ggml_tensor*>& lora_order() const { return lora_order_; }
  // AdamW moments of params()[p] and the step count, for checkpoints that resume exactly.
  std::vector<float>& adam_m(size_t p) { return adam_m_[p]; }
  std::vector<float>& adam_v(size_t p) { return adam_v_[p]; }
  int64_t step() const { return step_; }
  void set_step(int64_t step) { step_ = step; }
  void SetThreads(int threads);
  // Releases the model and its graphs; safe to repeat, and open() is false after.
  void Free();

 private:
  std::string ReadModel(bool train_embeddings);
  std::string ReadHparams();
  std::string ReadWeights();
  ggml_tensor* W(const std::string& name, std::vector<int64_t> shape, bool required, std::string& err);
  std::string BindBlocks();
  std::string AddLora();
  std::string ReadAdapter(const std::string& path);

  ggml_tensor* Mm(ggml_context* ctx, ggml_tensor* w, ggml_tensor* x);
  ggml_tensor* BuildBlock(ggml_context* ctx, ggml_tensor* x, const Block& b, ggml_tensor* pos, int64_t B, int64_t T);
  ggml_tensor* Rope(ggml_context* ctx, ggml_tensor* t, ggml_tensor* pos);
  ggml_tensor* HeadLoss(ggml_context* ctx, ggml_tensor* x, ggml_tensor* pick, ggml_tensor* pick_w);
  std::string EnsureGraph(int64_t B, int64_t T, int64_t K);
  std::string BuildBackward(ggml_context* ctx);
  std::string AllocForward(ggml_context* ctx, ggml_tensor* x);
  bool BlasProducts() const;
  void LowpForward(ggml_context* ctx);
  ggml_cgraph* MatmulBackward(ggml_context* ctx, ggml_cgraph* gb);

  void SetInputs(const MicroBatch& mb, double norm);
  float ReadLoss();
  void AddLoraDelta(ggml_tensor* w, float* out);

  std::string path_;
  int threads_ = 1;
  ggml_type matmul_type_ = GGML_TYPE_F32;
  bool forward_only_ = false;
  Hparams hp_;
  gguf_context* gguf_ = nullptr;
  ggml_context* meta_ = nullptr;
  ggml_context* ctx_w_ = nullptr;
  ggml_backend_buffer_t buf_w_ = nullptr;
  ggml_backend_t backend_ = nullptr;
  std::map<std::string, ggml_tensor*> weights_;
  std::set<std::string> used_;
  ggml_tensor *tok_embd_ = nullptr, *output_norm_ = nullptr, *output_ = nullptr, *rope_freqs_ = nullptr;
  std::vector<Block> blocks_;

  LoraConfig lora_;
  ggml_context* ctx_lora_ = nullptr;
  ggml_backend_buffer_t buf_lora_ = nullptr;
  std::map<const ggml_tensor*, LoraPair> lora_pairs_;  // by base tensor
  std::vector<ggml_tensor*> lora_order_;               // base tensors with a pair, in block order
  std::map<std::string, ggml_tensor*> lora_tensors_;   // A and B by name

  std::vector<ggml_tensor*> params_, grad_accs_;
  std::vector<std::vector<float>> adam_m_, adam_v_;
  int64_t step_ = 0;
  ggml_context* ctx_static_ = nullptr;
  ggml_backend_buffer_t buf_static_ = nullptr;
  ggml_tensor* loss_acc_ = nullptr;

  ggml_context* ctx_c_ = nullptr;
  ggml_gallocr_t galloc_ = nullptr;
  // gf: forward; gb: ggml's backward (its gradient bookkeeping); gt: what training runs (see MatmulBackward).
  ggml_cgraph *gf_ = nullptr, *gb_ = nullptr, *gt_ = nullptr;
  size_t graph_size_ = 0;
  int64_t B_ = 0, T_ = 0, K_ = 0;
  ggml_tensor *tokens_ = nullptr, *pos_ = nullptr, *pick_ = nullptr, *pick_w_ = nullptr;
  std::vector<ggml_tensor*> logits_;  // [V, Nc] per gather chunk
  ggml_tensor* loss_ = nullptr;
  // Positions per loss gather: at most 2^31 / V, so that every flat index fits in int32.
  int64_t gather_positions_ = 0;
  // Values in one gather chunk's [V, Nc] head tensors when the caller sets no chunk (16M: 64 MB).
  static constexpr int64_t kHeadChunkFloats = int64_t{1} << 24;
};

}  // namespace lethe

// Inference through libllama: tokenizer, logits at every position, token log-probabilities and
// generation. One llama_context per model; sequences are packed into one decode with distinct
// sequence ids so that many short texts (benchmarks, prompts) cost few decode calls.
#include <algorithm>
#include <cmath>
#include <memory>

#include "common.h"
#include "llama.h"

namespace lethe {

namespace {

class LlamaModel : public Napi::ObjectWrap<LlamaModel> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "LlamaModel",
                       {
                           InstanceMethod("info", &LlamaModel::Info),
                           InstanceMethod("tokenize", &LlamaModel::Tokenize),
                           InstanceMethod("detokenize", &LlamaModel::Detokenize),
                           InstanceMethod("logits", &LlamaModel::Logits),
                           InstanceMethod("tokenLogprobs", &LlamaModel::TokenLogprobs),
                           InstanceMethod("generate", &LlamaModel::Generate),
                           InstanceMethod("cancel", &LlamaModel::Cancel),
                           InstanceMethod("dispose", &LlamaModel::Dispose),
                       });
  }

  // new LlamaModel(path, { threads, nCtx, nSeqMax, kvF32, useMmap, lora? })
  // lora: { path, scale }, an adapter checked against the base in TS (src/gguf/lora-adapter.ts).
  explicit LlamaModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LlamaModel>(info) {
    Napi::Env env = info.Env();
    std::string path = info[0].As<Napi::String>().Utf8Value();
    Napi::Object opts = info[1].As<Napi::Object>();
    require_backends(env);
    threads_ = opts.Get("threads").As<Napi::Number>().Int32Value();
    const int gen_threads = opts.Get("generationThreads").As<Napi::Number>().Int32Value();
    // llama.cpp rounds the context up to a multiple of 256; the batch must match it, or a decode
    // longer than the requested size would trip GGML_ASSERT(n_tokens_all <= n_batch) and abort.
    const uint32_t n_ctx = (opts.Get("nCtx").As<Napi::Number>().Uint32Value() + 255) / 256 * 256;
    n_seq_max_ = opts.Get("nSeqMax").As<Napi::Number>().Uint32Value();
    const bool kv_f32 = opts.Get("kvF32").As<Napi::Boolean>().Value();
    const bool flash_attn = opts.Get("flashAttn").As<Napi::Boolean>().Value();
    pack_tokens_ = opts.Get("packTokens").As<Napi::Number>().Uint32Value();

    clear_native_error();
    llama_model_params mp = llama_model_default_params();
    mp.load_mode = opts.Get("useMmap").As<Napi::Boolean>().Value() ? LLAMA_LOAD_MODE_MMAP : LLAMA_LOAD_MODE_NONE;
    mp.n_gpu_layers = 0;
    model_ = llama_model_load_from_file(path.c_str(), mp);
    if (!model_) throw_js(env, "MODEL_LOAD", "llama.cpp could not load " + path + ": " + last_native_error());
    vocab_ = llama_model_get_vocab(model_);

    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = n_ctx;
    cp.n_batch = n_ctx;
    cp.n_ubatch = std::min<uint32_t>(n_ctx, 512);
    cp.n_seq_max = n_seq_max_;
    cp.kv_unified = true;
    // Single-token decodes run few FLOPs between ggml's spinning barriers, so they crawl when another
    // process holds a core; they get their own (smaller) thread count.
    cp.n_threads = gen_threads;
    cp.n_threads_batch = threads_;
    cp.flash_attn_type = flash_attn ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED;
    // An F32 cache makes logits match lethe's trainer exactly; F16 differs by ~1e-3.
    cp.type_k = kv_f32 ? GGML_TYPE_F32 : GGML_TYPE_F16;
    cp.type_v = kv_f32 ? GGML_TYPE_F32 : GGML_TYPE_F16;
    cp.no_perf = true;
    ctx_ = llama_init_from_model(model_, cp);
    if (!ctx_) {
      llama_model_free(model_);
      model_ = nullptr;
      throw_js(env, "CONTEXT", "llama.cpp could not create a context of " + std::to_string(n_ctx) + " tokens: " + last_native_error());
    }
    n_ctx_ = std::min(llama_n_ctx(ctx_), llama_n_batch(ctx_));
    if (opts.Has("lora") && opts.Get("lora").IsObject()) {
      Napi::Object l = opts.Get("lora").As<Napi::Object>();
      const std::string lora_path = l.Get("path").As<Napi::String>().Utf8Value();
      float scale = l.Get("scale").As<Napi::Number>().FloatValue();
      llama_adapter_lora* adapter = llama_adapter_lora_init(model_, lora_path.c_str());
      if (!adapter || llama_set_adapters_lora(ctx_, &adapter, 1, &scale) != 0) {
        const std::string why = last_native_error();
        Free();  // the model frees its adapters
        throw_js(env, "MODEL_LOAD", "llama.cpp could not apply the LoRA adapter " + lora_path + ": " + why);
      }
    }
  }

  ~LlamaModel() override { Free(); }

  llama_context* ctx() { return ctx_; }
  const llama_vocab* vocab() { return vocab_; }
  int n_vocab() { return llama_vocab_n_tokens(vocab_); }
  uint32_t n_ctx() const { return n_ctx_; }
  uint32_t n_seq_max() const { return n_seq_max_; }
  uint32_t pack_tokens() const { return pack_tokens_; }
  std::atomic<bool> cancel_flag{false};
  std::atomic<bool> busy{false};

 private:
  void Free() {
    if (ctx_) llama_free(ctx_);
    if (model_) llama_model_free(model_);
    ctx_ = nullptr;
    model_ = nullptr;
  }

  void CheckOpen(Napi::Env env) {
    if (!model_) throw_js(env, "DISPOSED", "the model was disposed");
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    Napi::Object o = Napi::Object::New(env);
    char buf[256];
    llama_model_desc(model_, buf, sizeof(buf));
    o.Set("description", buf);
    o.Set("nVocab", n_vocab());
    o.Set("nCtxTrain", llama_model_n_ctx_train(model_));
    o.Set("nCtx", n_ctx_);
    o.Set("nEmbd", llama_model_n_embd(model_));
    o.Set("nLayer", llama_model_n_layer(model_));
    o.Set("nParams", static_cast<double>(llama_model_n_params(model_)));
    o.Set("bos", llama_vocab_bos(vocab_));
    o.Set("eos", llama_vocab_eos(vocab_));
    o.Set("addBos", llama_vocab_get_add_bos(vocab_));
    return o;
  }

  Napi::Value Tokenize(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    std::string text = info[0].As<Napi::String>().Utf8Value();
    bool add_special = info[1].As<Napi::Boolean>().Value();
    bool parse_special = info[2].As<Napi::Boolean>().Value();
    std::vector<llama_token> toks(text.size() + 8);
    int n = llama_tokenize(vocab_, text.data(), text.size(), toks.data(), toks.size(), add_special, parse_special);
    if (n < 0) {
      toks.resize(-n);
      n = llama_tokenize(vocab_, text.data(), text.size(), toks.data(), toks.size(), add_special, parse_special);
    }
    if (n < 0) throw_js(env, "TOKENIZE", "llama_tokenize failed");
    Napi::Int32Array out = Napi::Int32Array::New(env, n);
    std::copy(toks.begin(), toks.begin() + n, out.Data());
    return out;
  }

  Napi::Value Detokenize(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    Napi::Int32Array ids = info[0].As<Napi::Int32Array>();
    bool remove_special = info[1].As<Napi::Boolean>().Value();
    std::vector<char> buf(ids.ElementLength() * 16 + 16);
    int n = llama_detokenize(vocab_, ids.Data(), ids.ElementLength(), buf.data(), buf.size(), remove_special, false);
    if (n < 0) {
      buf.resize(-n);
      n = llama_detokenize(vocab_, ids.Data(), ids.ElementLength(), buf.data(), buf.size(), remove_special, false);
    }
    if (n < 0) throw_js(env, "DETOKENIZE", "llama_detokenize failed");
    return Napi::String::New(env, buf.data(), n);
  }

  Napi::Value Logits(const Napi::CallbackInfo& info);
  Napi::Value TokenLogprobs(const Napi::CallbackInfo& info);
  Napi::Value Generate(const Napi::CallbackInfo& info);

  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    cancel_flag.store(true);
    return info.Env().Undefined();
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    if (busy.load()) throw_js(info.Env(), "BUSY", "cannot dispose a model while a call is running");
    Free();
    return info.Env().Undefined();
  }

  llama_model* model_ = nullptr;
  llama_context* ctx_ = nullptr;
  const llama_vocab* vocab_ = nullptr;
  int threads_ = 1;
  uint32_t n_ctx_ = 0;
  uint32_t n_seq_max_ = 1;
  uint32_t pack_tokens_ = 512;
};

std::vector<std::vector<llama_token>> read_sequences(Napi::Array arr) {
  std::vector<std::vector<llama_token>> seqs(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Int32Array a = arr.Get(i).As<Napi::Int32Array>();
    seqs[i].assign(a.Data(), a.Data() + a.ElementLength());
  }
  return seqs;
}

// Decodes sequences in packs and hands each sequence's logits (n x vocab, row-major) to `sink`.
// Returns false when cancelled.
template <typename Sink>
bool decode_all(LlamaModel* m, const std::vector<std::vector<llama_token>>& seqs, Sink sink,
                const Napi::AsyncProgressQueueWorker<Progress>::ExecutionProgress& progress, std::string& err) {
  llama_context* ctx = m->ctx();
  const int n_vocab = m->n_vocab();
  llama_memory_t mem = llama_get_memory(ctx);
  double total = 0, done = 0;
  for (const auto& s : seqs) total += s.size();
  llama_batch batch = llama_batch_init(m->n_ctx(), 0, 1);
  std::unique_ptr<llama_batch, void (*)(llama_batch*)> guard(&batch, [](llama_batch* b) { llama_batch_free(*b); });
  size_t next = 0;
  while (next < seqs.size()) {
    if (m->cancel_flag.load()) return false;
    // Pack short sequences together into one decode. Packed sequences share one KV cache, so every
    // token attends over all of them (masked): packing stops at pack_tokens to bound that waste.
    size_t first = next, used = 0;
    while (next < seqs.size() && next - first < m->n_seq_max() && used + seqs[next].size() <= m->n_ctx() &&
           (used == 0 || used + seqs[next].size() <= m->pack_tokens())) {
      used += seqs[next].size();
      next++;
    }
    batch.n_tokens = 0;
    for (size_t s = first; s < next; s++) {
      for (size_t j = 0; j < seqs[s].size(); j++) {
        int i = batch.n_tokens++;
        batch.token[i] = seqs[s][j];
        batch.pos[i] = j;
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = s - first;
        batch.logits[i] = 1;
      }
    }
    int rc = llama_decode(ctx, batch);
    if (rc != 0) {
      llama_memory_clear(mem, true);
      err = "llama_decode failed (code " + std::to_string(rc) + "): " + last_native_error();
      return false;
    }
    int offset = 0;
    for (size_t s = first; s < next; s++) {
      const int n = seqs[s].size();
      sink(s, llama_get_logits_ith(ctx, offset), n, n_vocab);
      offset += n;
    }
    llama_memory_clear(mem, true);
    done += used;
    progress.Send(new Progress{done, total}, 1);
  }
  return true;
}

// Full or top-k logits for each position of each sequence.
class LogitsJob : public Job {
 public:
  LogitsJob(Napi::Env env, Napi::Function cb, LlamaModel* m, std::vector<std::vector<llama_token>> seqs,
            int top_k, Napi::Array outs)
      : Job(env, cb, &m->cancel_flag, &m->busy), m_(m), seqs_(std::move(seqs)), top_k_(top_k) {
    if (top_k_ == 0) {
      // Full logits go straight into the caller's Float32Arrays, kept alive by references.
      for (uint32_t i = 0; i < outs.Length(); i++) {
        Napi::Float32Array a = outs.Get(i).As<Napi::Float32Array>();
        out_refs_.push_back(Napi::Persistent(a));
        out_ptrs_.push_back(a.Data());
      }
    }
  }

 protected:
  void Work(const ExecutionProgress& progress) override {
    if (top_k_ > 0) {
      ids_.resize(seqs_.size());
      vals_.resize(seqs_.size());
      lse_.resize(seqs_.size());
    }
    std::string err;
    bool ok = decode_all(
        m_, seqs_,
        [&](size_t s, const float* logits, int n, int n_vocab) {
          if (top_k_ == 0) {
            std::copy(logits, logits + static_cast<size_t>(n) * n_vocab, out_ptrs_[s]);
            return;
          }
          const int k = std::min(top_k_, n_vocab);
          ids_[s].resize(static_cast<size_t>(n) * k);
          vals_[s].resize(static_cast<size_t>(n) * k);
          lse_[s].resize(n);
          std::vector<int32_t> order(n_vocab);
          for (int p = 0; p < n; p++) {
            const float* row = logits + static_cast<size_t>(p) * n_vocab;
            for (int v = 0; v < n_vocab; v++) order[v] = v;
            std::partial_sort(order.begin(), order.begin() + k, order.end(),
                              [row](int32_t a, int32_t b) { return row[a] > row[b]; });
            const float mx = row[order[0]];
            double sum = 0;
            for (int v = 0; v < n_vocab; v++) sum += std::exp(static_cast<double>(row[v]) - mx);
            lse_[s][p] = mx + static_cast<float>(std::log(sum));
            for (int j = 0; j < k; j++) {
              ids_[s][static_cast<size_t>(p) * k + j] = order[j];
              vals_[s][static_cast<size_t>(p) * k + j] = row[order[j]];
            }
          }
        },
        progress, err);
    if (!ok) Fail(err.empty() ? "CANCELLED" : "DECODE", err.empty() ? "logits" : err);
  }

  Napi::Value Result(Napi::Env env) override {
    if (top_k_ == 0) return env.Undefined();
    Napi::Object o = Napi::Object::New(env);
    Napi::Array ids = Napi::Array::New(env), vals = Napi::Array::New(env), lse = Napi::Array::New(env);
    for (size_t s = 0; s < seqs_.size(); s++) {
      Napi::Int32Array a = Napi::Int32Array::New(env, ids_[s].size());
      std::copy(ids_[s].begin(), ids_[s].end(), a.Data());
      Napi::Float32Array b = Napi::Float32Array::New(env, vals_[s].size());
      std::copy(vals_[s].begin(), vals_[s].end(), b.Data());
      Napi::Float32Array c = Napi::Float32Array::New(env, lse_[s].size());
      std::copy(lse_[s].begin(), lse_[s].end(), c.Data());
      ids.Set(s, a);
      vals.Set(s, b);
      lse.Set(s, c);
    }
    o.Set("ids", ids);
    o.Set("logits", vals);
    o.Set("logSumExp", lse);
    return o;
  }

 private:
  LlamaModel* m_;
  std::vector<std::vector<llama_token>> seqs_;
  int top_k_;
  std::vector<Napi::Reference<Napi::Float32Array>> out_refs_;
  std::vector<float*> out_ptrs_;
  std::vector<std::vector<int32_t>> ids_;
  std::vector<std::vector<float>> vals_;
  std::vector<std::vector<float>> lse_;
};

// log p(token[i] | token[<i]) for i >= 1.
class LogprobsJob : public Job {
 public:
  LogprobsJob(Napi::Env env, Napi::Function cb, LlamaModel* m, std::vector<std::vector<llama_token>> seqs)
      : Job(env, cb, &m->cancel_flag, &m->busy), m_(m), seqs_(std::move(seqs)) {}

 protected:
  void Work(const ExecutionProgress& progress) override {
    out_.resize(seqs_.size());
    std::string err;
    bool ok = decode_all(
        m_, seqs_,
        [&](size_t s, const float* logits, int n, int n_vocab) {
          out_[s].resize(n > 0 ? n - 1 : 0);
          for (int p = 0; p + 1 < n; p++) {
            const float* row = logits + static_cast<size_t>(p) * n_vocab;
            const float mx = *std::max_element(row, row + n_vocab);
            double sum = 0;
            for (int v = 0; v < n_vocab; v++) sum += std::exp(static_cast<double>(row[v]) - mx);
            out_[s][p] = row[seqs_[s][p + 1]] - mx - static_cast<float>(std::log(sum));
          }
        },
        progress, err);
    if (!ok) Fail(err.empty() ? "CANCELLED" : "DECODE", err.empty() ? "token log-probabilities" : err);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array arr = Napi::Array::New(env);
    for (size_t s = 0; s < out_.size(); s++) {
      Napi::Float32Array a = Napi::Float32Array::New(env, out_[s].size());
      std::copy(out_[s].begin(), out_[s].end(), a.Data());
      arr.Set(s, a);
    }
    return arr;
  }

 private:
  LlamaModel* m_;
  std::vector<std::vector<llama_token>> seqs_;
  std::vector<std::vector<float>> out_;
};

struct SamplingOptions {
  int max_tokens;
  float temperature;
  int top_k;
  float top_p;
  uint32_t seed;
};

class GenerateJob : public Job {
 public:
  GenerateJob(Napi::Env env, Napi::Function cb, LlamaModel* m, std::vector<llama_token> prompt, SamplingOptions o)
      : Job(env, cb, &m->cancel_flag, &m->busy), m_(m), prompt_(std::move(prompt)), o_(o) {}

 protected:
  void Work(const ExecutionProgress& progress) override {
    llama_context* ctx = m_->ctx();
    llama_memory_t mem = llama_get_memory(ctx);
    llama_memory_clear(mem, true);
    llama_sampler* chain = llama_sampler_chain_init(llama_sampler_chain_default_params());
    std::unique_ptr<llama_sampler, void (*)(llama_sampler*)> guard(chain, llama_sampler_free);
    if (o_.temperature <= 0) {
      llama_sampler_chain_add(chain, llama_sampler_init_greedy());
    } else {
      if (o_.top_k > 0) llama_sampler_chain_add(chain, llama_sampler_init_top_k(o_.top_k));
      if (o_.top_p < 1) llama_sampler_chain_add(chain, llama_sampler_init_top_p(o_.top_p, 1));
      llama_sampler_chain_add(chain, llama_sampler_init_temp(o_.temperature));
      llama_sampler_chain_add(chain, llama_sampler_init_dist(o_.seed));
    }
    llama_batch batch = llama_batch_get_one(prompt_.data(), prompt_.size());
    llama_token tok;
    for (int i = 0; i < o_.max_tokens; i++) {
      if (cancelled()) {
        llama_memory_clear(mem, true);
        return Fail("CANCELLED", "generation");
      }
      int rc = llama_decode(ctx, batch);
      if (rc != 0) {
        llama_memory_clear(mem, true);
        return Fail("DECODE", "llama_decode failed (code " + std::to_string(rc) + "): " + last_native_error());
      }
      tok = llama_sampler_sample(chain, ctx, -1);
      if (llama_vocab_is_eog(m_->vocab(), tok)) break;
      out_.push_back(tok);
      if (prompt_.size() + out_.size() >= m_->n_ctx()) break;
      batch = llama_batch_get_one(&out_.back(), 1);
      progress.Send(new Progress{static_cast<double>(i + 1), static_cast<double>(o_.max_tokens)}, 1);
    }
    llama_memory_clear(mem, true);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Int32Array a = Napi::Int32Array::New(env, out_.size());
    std::copy(out_.begin(), out_.end(), a.Data());
    return a;
  }

 private:
  LlamaModel* m_;
  std::vector<llama_token> prompt_;
  SamplingOptions o_;
  std::vector<llama_token> out_;
};

Napi::Value LlamaModel::Logits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  auto seqs = read_sequences(info[0].As<Napi::Array>());
  int top_k = info[1].As<Napi::Number>().Int32Value();
  Napi::Array outs = info[2].IsArray() ? info[2].As<Napi::Array>() : Napi::Array::New(env);
  claim(env, busy, "this model");
  auto* job = new LogitsJob(env, info[3].As<Napi::Function>(), this, std::move(seqs), top_k, outs);
  job->Queue();
  return job->promise();
}

Napi::Value LlamaModel::TokenLogprobs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  auto seqs = read_sequences(info[0].As<Napi::Array>());
  claim(env, busy, "this model");
  auto* job = new LogprobsJob(env, info[1].As<Napi::Function>(), this, std::move(seqs));
  job->Queue();
  return job->promise();
}

Napi::Value LlamaModel::Generate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  Napi::Int32Array p = info[0].As<Napi::Int32Array>();
  std::vector<llama_token> prompt(p.Data(), p.Data() + p.ElementLength());
  Napi::Object o = info[1].As<Napi::Object>();
  SamplingOptions so{o.Get("maxTokens").As<Napi::Number>().Int32Value(),
                     o.Get("temperature").As<Napi::Number>().FloatValue(),
                     o.Get("topK").As<Napi::Number>().Int32Value(), o.Get("topP").As<Napi::Number>().FloatValue(),
                     o.Get("seed").As<Napi::Number>().Uint32Value()};
  claim(env, busy, "this model");
  auto* job = new GenerateJob(env, info[2].As<Napi::Function>(), this, std::move(prompt), so);
  job->Queue();
  return job->promise();
}

}  // namespace

Napi::Object InitInference(Napi::Env env, Napi::Object exports) {
  exports.Set("LlamaModel", LlamaModel::Define(env));
  return exports;
}

}  // namespace lethe

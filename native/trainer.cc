// lethe's trainer as seen from JS: the Trainer class, a thin N-API layer over TrainerCore
// (trainer-core.h), which holds the model, its graphs and the optimizer and reads top to bottom
// like llm.c. Here JS values become core structs and back, core errors become JS errors, and the
// long calls (step, gradients, loss, forward) run as async jobs on a worker thread.
#include <algorithm>
#include <cstring>

#include "common.h"
#include "trainer-core.h"

namespace lethe {

namespace {

// A core error reads "CODE: message"; JS gets it as it is, with the code TS maps to an error class.
std::string error_code(const std::string& err) { return err.substr(0, err.find(':')); }
std::string error_message(const std::string& err) { return err.substr(err.find(':') + 2); }

class Trainer : public Napi::ObjectWrap<Trainer> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Trainer",
                       {
                           InstanceMethod("info", &Trainer::Info),
                           InstanceMethod("step", &Trainer::Step),
                           InstanceMethod("gradients", &Trainer::Gradients),
                           InstanceMethod("loss", &Trainer::Loss),
                           InstanceMethod("forward", &Trainer::Forward),
                           InstanceMethod("getTensor", &Trainer::GetTensor),
                           InstanceMethod("getGradient", &Trainer::GetGradient),
                           InstanceMethod("setTensor", &Trainer::SetTensor),
                           InstanceMethod("save", &Trainer::Save),
                           InstanceMethod("saveAdapter", &Trainer::SaveAdapter),
                           InstanceMethod("getOptimizerState", &Trainer::GetOptimizerState),
                           InstanceMethod("setOptimizerState", &Trainer::SetOptimizerState),
                           InstanceMethod("setThreads", &Trainer::SetThreads),
                           InstanceMethod("cancel", &Trainer::Cancel),
                           InstanceMethod("dispose", &Trainer::Dispose),
                       });
  }

  // new Trainer(path, { threads, trainEmbeddings, gatherPositions?, precision?, lora?, forwardOnly? })
  // gatherPositions (tests only) caps the positions per loss gather below the int32 bound.
  // lora: { rank, alpha, targets: string[], seed, adapter? } (validated in TS).
  explicit Trainer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Trainer>(info) {
    Napi::Env env = info.Env();
    const std::string path = info[0].As<Napi::String>().Utf8Value();
    Napi::Object opts = info[1].As<Napi::Object>();
    require_backends(env);
    TrainerConfig config;
    config.threads = opts.Get("threads").As<Napi::Number>().Int32Value();
    config.train_embeddings = opts.Get("trainEmbeddings").As<Napi::Boolean>().Value();
    if (opts.Has("gatherPositions") && opts.Get("gatherPositions").IsNumber()) {
      config.gather_positions = opts.Get("gatherPositions").As<Napi::Number>().Int64Value();
    }
    // precision "bf16" (checked in TS against the CPU) runs the matrix products in bfloat16.
    if (opts.Has("precision") && opts.Get("precision").IsString() &&
        opts.Get("precision").As<Napi::String>().Utf8Value() == "bf16") {
      config.matmul_type = GGML_TYPE_BF16;
    }
    if (opts.Has("forwardOnly") && opts.Get("forwardOnly").IsBoolean()) {
      config.forward_only = opts.Get("forwardOnly").As<Napi::Boolean>().Value();
    }
    if (opts.Has("lora") && opts.Get("lora").IsObject()) {
      Napi::Object l = opts.Get("lora").As<Napi::Object>();
      LoraConfig& lora = config.lora;
      lora.rank = l.Get("rank").As<Napi::Number>().Int64Value();
      lora.alpha = l.Get("alpha").As<Napi::Number>().FloatValue();
      lora.seed = l.Get("seed").As<Napi::Number>().Uint32Value();
      Napi::Array targets = l.Get("targets").As<Napi::Array>();
      for (uint32_t i = 0; i < targets.Length(); i++) lora.targets.push_back(targets.Get(i).As<Napi::String>().Utf8Value());
      if (l.Has("adapter") && l.Get("adapter").IsString()) lora.adapter = l.Get("adapter").As<Napi::String>().Utf8Value();
    }
    const std::string err = core_.Load(path, config);
    if (!err.empty()) throw_js(env, error_code(err), error_message(err));
  }

 private:
  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    const Hparams& hp = core_.hp();
    Napi::Object o = Napi::Object::New(env);
    o.Set("arch", hp.arch);
    o.Set("nVocab", static_cast<double>(hp.n_vocab));
    o.Set("nEmbd", static_cast<double>(hp.n_embd));
    o.Set("nLayer", static_cast<double>(hp.n_layer));
    o.Set("nHead", static_cast<double>(hp.n_head));
    o.Set("nHeadKv", static_cast<double>(hp.n_head_kv));
    o.Set("nFf", static_cast<double>(hp.n_ff));
    o.Set("nCtxTrain", static_cast<double>(hp.n_ctx_train));
    o.Set("tiedEmbeddings", core_.tied_embeddings());
    double n_params = 0, n_trainable = 0;
    for (auto& kv : core_.weights()) n_params += ggml_nelements(kv.second);
    for (ggml_tensor* p : core_.params()) n_trainable += ggml_nelements(p);
    o.Set("nParams", n_params);
    o.Set("nTrainable", n_trainable);
    if (core_.lora().rank > 0) {
      Napi::Object l = Napi::Object::New(env);
      l.Set("rank", static_cast<double>(core_.lora().rank));
      l.Set("alpha", core_.lora().alpha);
      Napi::Array pairs = Napi::Array::New(env);
      uint32_t j = 0;
      for (ggml_tensor* w : core_.lora_order()) pairs.Set(j++, ggml_get_name(w));
      l.Set("tensors", pairs);
      o.Set("lora", l);
    }
    o.Set("step", static_cast<double>(core_.step()));
    Napi::Array names = Napi::Array::New(env);
    uint32_t i = 0;
    for (auto& kv : core_.weights()) names.Set(i++, kv.first);
    o.Set("tensors", names);
    return o;
  }

  static std::vector<MicroBatch> ReadBatches(Napi::Array arr) {
    std::vector<MicroBatch> mbs(arr.Length());
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Object o = arr.Get(i).As<Napi::Object>();
      MicroBatch& mb = mbs[i];
      mb.B = o.Get("B").As<Napi::Number>().Int64Value();
      mb.T = o.Get("T").As<Napi::Number>().Int64Value();
      mb.K = o.Get("K").As<Napi::Number>().Int64Value();
      Napi::Int32Array tok = o.Get("tokens").As<Napi::Int32Array>();
      Napi::Int32Array tgt = o.Get("targets").As<Napi::Int32Array>();
      Napi::Float32Array w = o.Get("weights").As<Napi::Float32Array>();
      mb.tokens.assign(tok.Data(), tok.Data() + tok.ElementLength());
      mb.targets.assign(tgt.Data(), tgt.Data() + tgt.ElementLength());
      mb.weights.assign(w.Data(), w.Data() + w.ElementLength());
    }
    return mbs;
  }

  class StepJob : public Job {
   public:
    enum Kind { kStep, kGradients, kLoss };
    // `norm` divides the weighted sum (sum|w| unless the caller chose one); `abs_w` is sum|w|.
    StepJob(Napi::Env env, Napi::Function cb, Trainer* t, std::vector<MicroBatch> mbs, double norm, double abs_w,
            Kind kind, AdamW o)
        : Job(env, cb, &t->cancel_flag_, &t->busy_), t_(t), mbs_(std::move(mbs)), w_(norm), abs_w_(abs_w), kind_(kind),
          o_(o) {}

   protected:
    void Work(const ExecutionProgress& progress) override {
      TrainerCore& core = t_->core_;
      if (kind_ == kLoss) {
        const std::string err = core.ForwardOnly(mbs_, w_, nullptr, loss_);
        if (!err.empty()) Fail(error_code(err), error_message(err));
        return;
      }
      if (abs_w_ == 0) {
        skipped_ = true;  // nothing to learn: every weight is 0, so leave the parameters as they are
        return;
      }
      const auto report = [&](size_t done, size_t total) {
        const Progress p{static_cast<double>(done), static_cast<double>(total)};
        progress.Send(&p, 1);
      };
      const std::string err = core.Accumulate(mbs_, w_, t_->cancel_flag_, report, loss_);
      if (!err.empty()) return Fail(error_code(err), error_message(err));
      if (kind_ == kStep) grad_norm_ = core.Update(o_);
    }

    Napi::Value Result(Napi::Env env) override {
      Napi::Object o = Napi::Object::New(env);
      o.Set("loss", loss_);
      o.Set("gradNorm", grad_norm_);
      o.Set("skipped", skipped_);
      return o;
    }

   private:
    Trainer* t_;
    std::vector<MicroBatch> mbs_;
    double w_, abs_w_;
    Kind kind_;
    AdamW o_;
    float loss_ = 0, grad_norm_ = 0;
    bool skipped_ = false;
  };

  Napi::Value RunStep(const Napi::CallbackInfo& info, StepJob::Kind kind) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    auto mbs = ReadBatches(info[0].As<Napi::Array>());
    const double total_abs_w = abs_weight_sum(mbs);
    AdamW o{};
    if (kind == StepJob::kStep) {
      Napi::Object opt = info[1].As<Napi::Object>();
      o = {opt.Get("lr").As<Napi::Number>().FloatValue(), opt.Get("beta1").As<Napi::Number>().FloatValue(),
           opt.Get("beta2").As<Napi::Number>().FloatValue(), opt.Get("eps").As<Napi::Number>().FloatValue(),
           opt.Get("weightDecay").As<Napi::Number>().FloatValue(), opt.Get("clip").As<Napi::Number>().FloatValue()};
    }
    Napi::Function cb = info[2].IsFunction() ? info[2].As<Napi::Function>() : Napi::Function();
    // An optional normaliser replaces sum|w| (validated in TS).
    const double norm = info[3].IsNumber() ? info[3].As<Napi::Number>().DoubleValue() : total_abs_w;
    claim(env, busy_, "this trainer");
    auto* job = new StepJob(env, cb, this, std::move(mbs), norm, total_abs_w, kind, o);
    job->Queue();
    return job->promise();
  }

  Napi::Value Step(const Napi::CallbackInfo& info) { return RunStep(info, StepJob::kStep); }
  Napi::Value Gradients(const Napi::CallbackInfo& info) { return RunStep(info, StepJob::kGradients); }
  Napi::Value Loss(const Napi::CallbackInfo& info) { return RunStep(info, StepJob::kLoss); }

  class ForwardJob : public Job {
   public:
    ForwardJob(Napi::Env env, Trainer* t, std::vector<MicroBatch> mbs, Napi::Float32Array out)
        : Job(env, Napi::Function(), &t->cancel_flag_, &t->busy_), t_(t), mbs_(std::move(mbs)),
          out_ref_(Napi::Persistent(out)), out_(out.Data()) {}

   protected:
    void Work(const ExecutionProgress&) override {
      float loss;
      const std::string err = t_->core_.ForwardOnly(mbs_, 0, out_, loss);
      if (!err.empty()) Fail(error_code(err), error_message(err));
    }
    Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

   private:
    Trainer* t_;
    std::vector<MicroBatch> mbs_;
    Napi::Reference<Napi::Float32Array> out_ref_;
    float* out_;
  };

  // forward(tokens Int32Array[B*T], B, T, out Float32Array[B*T*V])
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    MicroBatch mb;
    Napi::Int32Array tok = info[0].As<Napi::Int32Array>();
    mb.B = info[1].As<Napi::Number>().Int64Value();
    mb.T = info[2].As<Napi::Number>().Int64Value();
    mb.K = 1;
    mb.tokens.assign(tok.Data(), tok.Data() + tok.ElementLength());
    mb.targets.assign(mb.B * mb.T, 0);
    mb.weights.assign(mb.B * mb.T, 0.0f);
    std::vector<MicroBatch> mbs;
    mbs.push_back(std::move(mb));
    claim(env, busy_, "this trainer");
    auto* job = new ForwardJob(env, this, std::move(mbs), info[3].As<Napi::Float32Array>());
    job->Queue();
    return job->promise();
  }

  ggml_tensor* Named(Napi::Env env, const std::string& name) {
    ggml_tensor* t = core_.Named(name);
    if (!t) throw_js(env, "NO_TENSOR", "the model has no tensor " + name);
    return t;
  }

  Napi::Value GetTensor(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    const std::vector<float> values = to_f32(Named(env, info[0].As<Napi::String>().Utf8Value()));
    Napi::Float32Array out = Napi::Float32Array::New(env, values.size());
    std::copy(values.begin(), values.end(), out.Data());
    return out;
  }

  Napi::Value GetGradient(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    ggml_tensor* t = Named(env, info[0].As<Napi::String>().Utf8Value());
    const float* grad = core_.Gradient(t);
    if (!grad) throw_js(env, "NO_TENSOR", "tensor " + info[0].As<Napi::String>().Utf8Value() + " is not trainable");
    Napi::Float32Array out = Napi::Float32Array::New(env, ggml_nelements(t));
    memcpy(out.Data(), grad, ggml_nbytes(t));
    return out;
  }

  Napi::Value SetTensor(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (busy_.load()) throw_js(env, "BUSY", "cannot change weights during a call");
    ggml_tensor* t = Named(env, info[0].As<Napi::String>().Utf8Value());
    if (t->type != GGML_TYPE_F32) {
      throw_js(env, "CONFIG", std::string("tensor ") + ggml_get_name(t) + " is frozen in " + ggml_type_name(t->type) + " under LoRA");
    }
    Napi::Float32Array a = info[1].As<Napi::Float32Array>();
    if (static_cast<int64_t>(a.ElementLength()) != ggml_nelements(t)) throw_js(env, "SHAPE", "wrong element count");
    memcpy(t->data, a.Data(), ggml_nbytes(t));
    return env.Undefined();
  }

  // AdamW moments and step count, by tensor name, for checkpoints that resume exactly.
  Napi::Value GetOptimizerState(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    Napi::Object o = Napi::Object::New(env);
    o.Set("step", static_cast<double>(core_.step()));
    Napi::Object moments = Napi::Object::New(env);
    for (size_t p = 0; p < core_.params().size(); p++) {
      const std::vector<float>& adam_m = core_.adam_m(p);
      const std::vector<float>& adam_v = core_.adam_v(p);
      Napi::Float32Array m = Napi::Float32Array::New(env, adam_m.size());
      Napi::Float32Array v = Napi::Float32Array::New(env, adam_v.size());
      std::copy(adam_m.begin(), adam_m.end(), m.Data());
      std::copy(adam_v.begin(), adam_v.end(), v.Data());
      Napi::Array pair = Napi::Array::New(env, 2);
      pair.Set(0u, m);
      pair.Set(1u, v);
      moments.Set(ggml_get_name(core_.params()[p]), pair);
    }
    o.Set("moments", moments);
    return o;
  }

  Napi::Value SetOptimizerState(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (busy_.load()) throw_js(env, "BUSY", "cannot change the optimizer state during a call");
    Napi::Object o = info[0].As<Napi::Object>();
    Napi::Object moments = o.Get("moments").As<Napi::Object>();
    for (size_t p = 0; p < core_.params().size(); p++) {
      const char* name = ggml_get_name(core_.params()[p]);
      if (!moments.Has(name)) throw_js(env, "SHAPE", std::string("optimizer state lacks tensor ") + name);
      Napi::Array pair = moments.Get(name).As<Napi::Array>();
      Napi::Float32Array m = pair.Get(0u).As<Napi::Float32Array>();
      Napi::Float32Array v = pair.Get(1u).As<Napi::Float32Array>();
      std::vector<float>& adam_m = core_.adam_m(p);
      std::vector<float>& adam_v = core_.adam_v(p);
      if (m.ElementLength() != adam_m.size() || v.ElementLength() != adam_v.size()) {
        throw_js(env, "SHAPE", std::string("optimizer state of ") + name + " has the wrong size");
      }
      std::copy(m.Data(), m.Data() + m.ElementLength(), adam_m.begin());
      std::copy(v.Data(), v.Data() + v.ElementLength(), adam_v.begin());
    }
    core_.set_step(o.Get("step").As<Napi::Number>().Int64Value());
    return env.Undefined();
  }

  // save(path, keepSourceTypes)
  Napi::Value Save(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (busy_.load()) throw_js(env, "BUSY", "cannot save during a call");
    const std::string out = info[0].As<Napi::String>().Utf8Value();
    const bool keep_types = info[1].As<Napi::Boolean>().Value();
    const std::string err = core_.Save(out, keep_types);
    if (!err.empty()) throw_js(env, error_code(err), error_message(err));
    return env.Undefined();
  }

  // saveAdapter(path): the A and B pairs as a GGUF LoRA adapter.
  Napi::Value SaveAdapter(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (busy_.load()) throw_js(env, "BUSY", "cannot save during a call");
    if (core_.lora().rank == 0) throw_js(env, "CONFIG", "this trainer is not training a LoRA adapter");
    const std::string out = info[0].As<Napi::String>().Utf8Value();
    const std::string err = core_.SaveAdapter(out);
    if (!err.empty()) throw_js(env, error_code(err), error_message(err));
    return env.Undefined();
  }

  Napi::Value SetThreads(const Napi::CallbackInfo& info) {
    core_.SetThreads(info[0].As<Napi::Number>().Int32Value());
    return info.Env().Undefined();
  }

  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    cancel_flag_.store(true);
    return info.Env().Undefined();
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    if (busy_.load()) throw_js(info.Env(), "BUSY", "cannot dispose a trainer while a call is running");
    core_.Free();
    return info.Env().Undefined();
  }

  void CheckOpen(Napi::Env env) {
    if (!core_.open()) throw_js(env, "DISPOSED", "the trainer was disposed");
  }

  TrainerCore core_;
  std::atomic<bool> cancel_flag_{false};
  std::atomic<bool> busy_{false};
};

}  // namespace

Napi::Object InitTrainer(Napi::Env env, Napi::Object exports) {
  exports.Set("Trainer", Trainer::Define(env));
  return exports;
}

}  // namespace lethe

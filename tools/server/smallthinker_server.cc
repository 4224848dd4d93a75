// smallthinker-server: an OpenAI-compatible HTTP server for a SmallThinker model, with continuous
// batching over --parallel slots, a per-slot prompt cache and a web chat page (routes.h lists the
// endpoints).
//
// Start-up: the port is bound first (so /health can say 503 while the model loads), then the model
// is loaded and the engine started. SIGINT/SIGTERM: stop accepting connections, end the requests in
// flight (an error event for streams, 503 otherwise), exit 0; a second signal exits at once.
#include <httplib.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <thread>

#include "cli/exit_codes.h"
#include "common/llama_flags.h"
#include "common/run_options.h"
#include "server/engine.h"
#include "server/routes.h"
#include "server/server_args.h"

namespace st {
namespace {

std::mutex g_stop_mu;
std::condition_variable g_stop_cv;
bool g_stop = false;

// Waits for SIGINT/SIGTERM (blocked in every thread, so only this one receives them).
void SignalThread(sigset_t set, httplib::Server* http) {
  int sig = 0;
  sigwait(&set, &sig);
  std::fprintf(stderr, "smallthinker-server: %s received, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  {
    std::lock_guard lock(g_stop_mu);
    g_stop = true;
  }
  g_stop_cv.notify_all();
  sigwait(&set, &sig);
  std::fprintf(stderr, "smallthinker-server: second signal, exiting now\n");
  std::_Exit(kExitInterrupted);
}

int Main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a client that went away is an error of that write, not a death
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before any thread starts: they inherit the mask

  CLI::App app{
      "smallthinker-server: an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/completions, /v1/models,\n"
      "/health, /metrics, /tokenize, /detokenize, /apply-template) and a web chat page at /, for a SmallThinker\n"
      "GGUF model. Requests are decoded together in --parallel slots (continuous batching); a slot keeps its\n"
      "conversation's tokens, so a request that continues it evaluates only what is new.\n\n"
      "  smallthinker-server -m model.gguf --port 8080 --parallel 4\n"
      "  curl http://127.0.0.1:8080/v1/chat/completions -H 'Content-Type: application/json' \\\n"
      "       -d '{\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}'",
      "smallthinker-server"};
  app.footer(kExitCodesHelp);
  ServerArgs a;
  AddServerOptions(app, a);
  if (auto code = ParseCommandLine(app, argc, argv)) return *code;
  if (std::string e = CheckServerArgs(a); !e.empty()) {
    std::fprintf(stderr, "error: %s\n", e.c_str());
    return kExitUsage;
  }

  httplib::Server http;
  ServerState st;
  st.args = &a;
  st.started = std::time(nullptr);
  const size_t workers = a.threads_http > 0 ? a.threads_http : a.parallel + a.queue + 8;
  // Every waiting request holds a worker, so the pool is sized for the slots and the queue: the
  // engine's queue, not httplib's unbounded one, decides when the answer is 503.
  http.new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  http.set_payload_max_length(a.max_body);
  http.set_read_timeout(30, 0);
  http.set_write_timeout(30, 0);
  InstallRoutes(http, st);
  const int port = a.port == 0 ? http.bind_to_any_port(a.host) : (http.bind_to_port(a.host, a.port) ? a.port : -1);
  if (port < 0) {
    std::fprintf(stderr, "error: cannot listen on %s:%d (in use, or not an address of this machine)\n", a.host.c_str(),
                 a.port);
    return kExitError;
  }
  std::fprintf(stderr, "smallthinker-server: listening on http://%s:%d\n", a.host.c_str(), port);
  std::atomic<bool> listener_done{false};
  std::thread listener([&http, &listener_done] {
    http.listen_after_bind();
    listener_done = true;
  });
  // stop() only stops a server that is already running: wait for the accept loop, or an early
  // start-up that failed to load could never end its listener.
  while (!http.is_running() && !listener_done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::thread signals(SignalThread, set, &http);
  signals.detach();

  auto finish = [&](int code) {
    st.stopping = true;
    http.stop();
    listener.join();
    return code;
  };
  int exit_code = kExitOk;
  auto loaded = LoadForRun(a.run, &exit_code);
  if (!loaded.ok()) {
    std::fprintf(stderr, "error: %s\n", loaded.status().message().c_str());
    return finish(exit_code);
  }
  const smallthinker::Model& model = *loaded->model;
  if (!model.has_tokenizer()) {
    std::fprintf(stderr, "error: %s: no usable vocabulary: %s\n", a.run.model.c_str(),
                 model.tokenizer_error().message().c_str());
    return finish(kExitModel);
  }
  const smallthinker::Tokenizer& tok = model.tokenizer();
  auto tmpl = ChatTemplate::Select(a.chat_template, tok.chat_template());
  if (tmpl.ok()) {
    tmpl->SetSpecialTokensFrom(tok.impl());  // bos_token / eos_token, as the CLI sets them
    st.chat_template.emplace(std::move(*tmpl));
  } else if (!a.chat_template.empty()) {
    std::fprintf(stderr, "error: --chat-template: %s\n", tmpl.status().message().c_str());
    return finish(kExitUsage);
  } else {
    st.template_error = tmpl.status().message();
    std::fprintf(stderr, "warning: the model's chat template: %s; /v1/chat/completions answers 500 (try --chat-template chatml)\n",
                 st.template_error.c_str());
  }
  st.model = &model;
  st.defaults.sampling = a.sampling;
  st.defaults.n_predict = a.n_predict;
  st.model_name = !a.alias.empty()            ? a.alias
                  : !model.info().name.empty() ? model.info().name
                                               : std::filesystem::path(a.run.model).filename().string();
  Engine engine(*loaded->context, tok, EngineOptions{a.queue});
  st.engine = &engine;
  st.ready = true;
  std::fprintf(stderr, "smallthinker-server: ready: model '%s', %u slots of %u tokens, queue %zu, chat template %s\n",
               st.model_name.c_str(), a.parallel, loaded->context->n_ctx(), a.queue,
               st.chat_template ? st.chat_template->name().c_str() : "(none)");
  {
    std::unique_lock lock(g_stop_mu);
    g_stop_cv.wait(lock, [] { return g_stop; });
  }
  st.stopping = true;  // new requests: 503
  engine.Shutdown();   // requests in flight end; their handlers return
  const int code = finish(kExitOk);
  std::fprintf(stderr, "smallthinker-server: stopped\n");
  return code;
}

}  // namespace
}  // namespace st

int main(int argc, char** argv) { return st::Main(argc, argv); }

#include "server/server_args.h"

#include <fmt/format.h>

#include <fstream>

#include "common/sampling_defaults.h"

namespace st {

void AddServerOptions(CLI::App& app, ServerArgs& a) {
  AddRunOptions(app, a.run);
  app.add_option("--host", a.host, "address to listen on (127.0.0.1: this machine only)")->capture_default_str();
  app.add_option("--port", a.port, "port to listen on (0: any free port, printed)")->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app.add_option("--parallel", a.parallel, "slots: requests decoded together in one batch (also -np)")
      ->check(CLI::Range(1, 256))->capture_default_str();
  app.add_option("--queue", a.queue, "requests that may wait for a free slot before the server answers 503 (0: 4 x slots)")
      ->check(CLI::Range(0, 4096));
  app.add_option("--api-key", a.api_key, "require 'Authorization: Bearer KEY' on every endpoint but /health and the page");
  app.add_option("--api-key-file", a.api_key_file, "read the API key from the first line of this file")
      ->check(CLI::ExistingFile);
  app.add_option("--chat-template", a.chat_template,
                 "chat template: chatml, qwen2, qwen2.5, qwen3, or Jinja text (default: the model's)");
  app.add_option("--chat-template-file", a.chat_template_file, "read the chat template's text from this file")
      ->check(CLI::ExistingFile);
  app.add_option("-a,--alias", a.alias, "the model name the API reports (default: general.name, else the file name)");
  app.add_option("-n,--n-predict", a.n_predict, "default max_tokens; -1 = until end of generation or a full context")
      ->check(CLI::Range(-1, INT32_MAX))->capture_default_str();
  app.add_option("--max-body", a.max_body, "largest request body in bytes (413 beyond)")->check(CLI::Range(1024, 1 << 30))
      ->capture_default_str();
  app.add_option("--threads-http", a.threads_http, "HTTP worker threads (0: slots + queue + 8)")->check(CLI::Range(0, 4096));
  app.add_flag("--no-webui", a.no_webui, "do not serve the web chat page at /");
  const std::string g = "Sampling defaults (a request's fields override them)";
  SamplerParams& s = a.sampling;
  s.temperature = kDefaultTemp;
  s.top_k = kDefaultTopK;
  s.top_p = kDefaultTopP;
  s.min_p = kDefaultMinP;
  s.order = kDefaultSamplers;
  app.add_option("--temp", s.temperature, "temperature; <= 0 = greedy")->capture_default_str()->group(g);
  app.add_option("--top-k", s.top_k, "keep the k most likely tokens; 0 = off")->capture_default_str()->group(g);
  app.add_option("--top-p", s.top_p, "nucleus sampling; 1.0 = off")->capture_default_str()->group(g);
  app.add_option("--min-p", s.min_p, "keep tokens >= p * the best one's probability; 0 = off")->capture_default_str()
      ->group(g);
  app.add_option("--repeat-penalty", s.repeat_penalty, "repetition penalty; 1.0 = off")->capture_default_str()->group(g);
  app.add_option("-s,--seed", a.seed, "default seed; -1 = random per request")->check(CLI::Range(int64_t{-1}, int64_t{UINT32_MAX}))->group(g);
  app.add_option("--samplers", s.order, "sampler order, names separated by ';'")->capture_default_str()->group(g);
}

std::string CheckServerArgs(ServerArgs& a) {
  a.run.n_seq = a.parallel;
  if (a.queue == 0) a.queue = 4 * static_cast<size_t>(a.parallel);
  if (a.parallel > a.run.batch_size) {
    return fmt::format("--parallel {} exceeds --ubatch-size {}: every slot's token must fit one batch", a.parallel,
                       a.run.batch_size);
  }
  if (!a.api_key.empty() && !a.api_key_file.empty()) return "--api-key and --api-key-file conflict: give one of them";
  if (!a.api_key_file.empty()) {
    std::ifstream in(a.api_key_file);
    if (!in || !std::getline(in, a.api_key)) return fmt::format("--api-key-file {}: cannot read a key", a.api_key_file);
    if (!a.api_key.empty() && a.api_key.back() == '\r') a.api_key.pop_back();
    if (a.api_key.empty()) return fmt::format("--api-key-file {}: the first line is empty", a.api_key_file);
  }
  if (!a.chat_template.empty() && !a.chat_template_file.empty()) {
    return "--chat-template and --chat-template-file conflict: give one of them";
  }
  if (!a.chat_template_file.empty()) {
    std::ifstream in(a.chat_template_file, std::ios::binary);
    a.chat_template.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) return fmt::format("--chat-template-file {}: cannot read it", a.chat_template_file);
    if (a.chat_template.empty()) return fmt::format("--chat-template-file {}: the file is empty", a.chat_template_file);
  }
  a.sampling.seed = a.seed < 0 ? kRandomSeed : static_cast<uint32_t>(a.seed);
  if (auto s = Sampler::Create(a.sampling); !s.ok()) return s.status().message();
  return "";
}

}  // namespace st

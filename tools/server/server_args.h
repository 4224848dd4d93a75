// smallthinker-server's command line (llama-server's spellings where they exist).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

#include "common/run_options.h"
#include "smallthinker/sampler.h"

namespace st {

struct ServerArgs {
  RunOptions run;                    // -m, -t, -c, --memory-limit, ... (shared with the CLI)
  std::string host = "127.0.0.1";
  int port = 8080;
  uint32_t parallel = 1;             // slots (-np): requests decoded together
  size_t queue = 0;                  // requests waiting for a slot; 0 = 4 x --parallel
  std::string api_key;               // "" = no key
  std::string api_key_file;          // a file whose first line is the key
  std::string chat_template;         // a built-in name or Jinja text
  std::string chat_template_file;
  std::string alias;                 // the model name the API reports ("" = general.name or the file name)
  SamplerParams sampling;            // defaults for requests that leave a field out
  int64_t seed = -1;                 // the default seed; -1 = random per request
  int32_t n_predict = -1;            // default max_tokens; -1 = until end of generation or a full context
  size_t max_body = 8 << 20;         // request body limit in bytes
  int threads_http = 0;              // HTTP worker threads; 0 = slots + queue + 8
  bool no_webui = false;
};

// Adds every flag to `app`.
void AddServerOptions(CLI::App& app, ServerArgs& a);
// Checks what CLI11 cannot; returns "" or the usage error.
std::string CheckServerArgs(ServerArgs& a);

}  // namespace st

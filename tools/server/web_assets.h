// The web chat page's files, compiled into the binary from tools/server/web/ (embed_assets.cmake),
// so the server needs no files beside it and the page no build step or CDN.
#pragma once

namespace st {

extern const char kWebIndexHtml[];  // web/index.html
extern const char kWebAppJs[];      // web/app.js
extern const char kWebAppCss[];     // web/app.css

}  // namespace st

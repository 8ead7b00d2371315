// The field capture and review web app (web/app/, docs/web_app.md), served
// by abis itself under /app/. The files are embedded at build time
// (web/embed.cmake), so a server serves exactly the app it was built with
// and no install step or directory setting can point it at other files.
//
// These are not API routes: they need no token (the page asks for one) and
// are not in the route table or the OpenAPI document. Every response carries
// a strict Content-Security-Policy (no inline script, nothing from another
// origin), no-store caching and no referrer, so the browser neither caches
// the app's responses nor leaks its URLs.
//
// Thread safety: the handlers only read immutable embedded data.

#include <string>
#include <string_view>

#include "server/routes/routes.h"

namespace abis::server {

// Defined in the file web/embed.cmake generates: the bytes of web/app/PATH,
// or false when the app has no such file.
bool FindEmbeddedWebFile(std::string_view path, std::string_view* body);

namespace {

constexpr char kContentSecurityPolicy[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "media-src 'self'; connect-src 'self'; font-src 'none'; object-src 'none'; "
    "worker-src 'none'; manifest-src 'none'; frame-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'";

std::string_view ContentTypeFor(std::string_view path) {
  auto ends_with = [&](std::string_view suffix) {
    return path.size() >= suffix.size() && path.substr(path.size() - suffix.size()) == suffix;
  };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

void SetSecurityHeaders(httplib::Response& response) {
  response.set_header("Content-Security-Policy", kContentSecurityPolicy);
  response.set_header("Referrer-Policy", "no-referrer");
  response.set_header("Cross-Origin-Opener-Policy", "same-origin");
  response.set_header("Cross-Origin-Resource-Policy", "same-origin");
  response.set_header("Permissions-Policy", "camera=(self), microphone=(), geolocation=()");
  response.set_header("X-Frame-Options", "DENY");
  // Cache-Control: no-store and X-Content-Type-Options: nosniff are the
  // server's default headers for every response.
}

void ServeFile(std::string_view path, httplib::Response& response) {
  SetSecurityHeaders(response);
  std::string_view body;
  // Only plain names: no "..", no hidden files, no empty segments.
  bool safe = !path.empty() && path.find("..") == std::string_view::npos &&
              path.find("//") == std::string_view::npos && path.front() != '.' &&
              path.find("/.") == std::string_view::npos;
  if (!safe || !FindEmbeddedWebFile(path, &body)) {
    response.status = 404;  // The server's error handler writes the error body.
    return;
  }
  response.status = 200;
  response.set_content(body.data(), body.size(), std::string(ContentTypeFor(path)));
}

}  // namespace

void AddWebAppHandlers(httplib::Server& http) {
  auto to_app = [](const httplib::Request&, httplib::Response& response) {
    SetSecurityHeaders(response);
    response.set_redirect("/app/", 302);
  };
  http.Get("/", to_app);
  http.Get("/app", to_app);
  http.Get("/app/", [](const httplib::Request&, httplib::Response& response) {
    ServeFile("index.html", response);
  });
  http.Get(R"(/app/([A-Za-z0-9_./-]+))",
           [](const httplib::Request& request, httplib::Response& response) {
             ServeFile(request.matches[1].str(), response);
           });
}

}  // namespace abis::server

// abis gallery list | show NAME | delete NAME [--identity ID]

#include <cstdio>
#include <iostream>

#include "cli/cli_common.h"

namespace abis::cli {
namespace {

struct GalleryFlags {
  GlobalFlags global;
  std::string name;
  std::string identity;
};

int RunList(const GalleryFlags& flags) {
  auto engine = OpenEngine(flags.global);
  if (!engine.ok()) return ReportError(flags.global, engine.status());
  auto galleries = (*engine)->ListGalleries();
  if (!galleries.ok()) return ReportError(flags.global, galleries.status());
  if (flags.global.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const GalleryInfo& g : *galleries) {
      list.push_back({{"name", g.name},
                      {"created_at", g.created_at},
                      {"identities", g.identity_count},
                      {"references", g.reference_count}});
    }
    PrintJson({{"galleries", list}});
    return 0;
  }
  std::printf("%-24s %10s %10s  %s\n", "gallery", "identities", "references", "created");
  for (const GalleryInfo& g : *galleries) {
    std::printf("%-24s %10lld %10lld  %s\n", g.name.c_str(),
                static_cast<long long>(g.identity_count), static_cast<long long>(g.reference_count),
                g.created_at.c_str());
  }
  return 0;
}

int RunShow(const GalleryFlags& flags) {
  auto engine = OpenEngine(flags.global);
  if (!engine.ok()) return ReportError(flags.global, engine.status());
  auto identities = (*engine)->ListIdentities(flags.name);
  if (!identities.ok()) return ReportError(flags.global, identities.status());
  if (flags.global.json) {
    PrintJson({{"gallery", flags.name}, {"identities", *identities}});
  } else {
    for (const std::string& identity : *identities) std::cout << identity << "\n";
  }
  return 0;
}

int RunDelete(const GalleryFlags& flags) {
  auto engine = OpenEngine(flags.global);
  if (!engine.ok()) return ReportError(flags.global, engine.status());
  Status status = flags.identity.empty() ? (*engine)->DeleteGallery(flags.name)
                                         : (*engine)->DeleteIdentity(flags.name, flags.identity);
  if (!status.ok()) return ReportError(flags.global, status);
  std::string what = flags.identity.empty() ? "gallery " + flags.name
                                            : "identity " + flags.identity + " of " + flags.name;
  if (flags.global.json) {
    PrintJson({{"deleted", what}});
  } else {
    std::cout << "deleted " << what << "\n";
  }
  return 0;
}

void AddRunner(CLI::App* command, std::shared_ptr<GalleryFlags> flags,
               int (*run)(const GalleryFlags&)) {
  command->callback([flags, run] {
    int code = run(*flags);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace

void RegisterGalleryCommand(CLI::App& app) {
  CLI::App* gallery = app.add_subcommand("gallery", "List, show or delete galleries");
  gallery->require_subcommand(1);

  auto list_flags = std::make_shared<GalleryFlags>();
  CLI::App* list = gallery->add_subcommand("list", "Galleries with their sizes");
  AddGlobalFlags(*list, list_flags->global);
  AddRunner(list, list_flags, RunList);

  auto show_flags = std::make_shared<GalleryFlags>();
  CLI::App* show = gallery->add_subcommand("show", "Identities enrolled in a gallery");
  AddGlobalFlags(*show, show_flags->global);
  show->add_option("name", show_flags->name, "Gallery")->required();
  AddRunner(show, show_flags, RunShow);

  auto delete_flags = std::make_shared<GalleryFlags>();
  CLI::App* remove = gallery->add_subcommand("delete", "Delete a gallery, or one identity in it");
  AddGlobalFlags(*remove, delete_flags->global);
  remove->add_option("name", delete_flags->name, "Gallery")->required();
  remove->add_option("--identity,-i", delete_flags->identity, "Delete only this identity");
  AddRunner(remove, delete_flags, RunDelete);
}

}  // namespace abis::cli

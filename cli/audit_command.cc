// abis audit: offline checks and listings of the tamper-evident audit log
// (docs/formats/audit_log.md). Neither subcommand opens the log for writing,
// so both run beside a live server and on a copy handed to an auditor.
//   abis audit verify --data DIR [--public-key HEX] [--json]
//   abis audit show   --data DIR [--from N] [--limit N] [--json]

#include <cstdio>
#include <iostream>

#include "audit/audit_log.h"
#include "cli/cli_common.h"

namespace abis::cli {
namespace {

struct AuditFlags {
  GlobalFlags global;
  std::string data_dir;
  std::string public_key;
  std::uint64_t from = 0;
  std::uint64_t limit = 0;  // 0: all.
};

nlohmann::json ToJson(const VerifyReport& report) {
  nlohmann::json json = {{"ok", report.ok},
                         {"events", report.events},
                         {"checkpoints", report.checkpoints},
                         {"signed_tree_size", report.signed_tree_size},
                         {"root", report.root},
                         {"chain_head", report.chain_head},
                         {"last_checkpoint_time", report.last_checkpoint_time},
                         {"public_key", report.public_key}};
  if (!report.ok) {
    json["reason"] = report.reason;
    json["file"] = report.file.empty() ? nlohmann::json(nullptr) : nlohmann::json(report.file);
    json["first_bad_seq"] =
        report.first_bad_seq ? nlohmann::json(*report.first_bad_seq) : nlohmann::json(nullptr);
  }
  return json;
}

nlohmann::json ToJson(const AuditEvent& event) {
  return {{"seq", event.seq},       {"time", event.time_utc}, {"actor", event.actor},
          {"device", event.device}, {"action", event.action}, {"objects", event.object_ids},
          {"hashes", event.hashes}, {"result", event.result}, {"details", event.details},
          {"prev", event.prev_hash}};
}

int RunVerify(const AuditFlags& flags) {
  VerifyOptions options;
  options.public_key_hex = flags.public_key;
  VerifyReport report;
  Status status = VerifyAuditLog(flags.data_dir, &report, options);
  if (!status.ok() && status.code() != StatusCode::kDataLoss) {
    return ReportError(flags.global, status);
  }
  if (flags.global.json) {
    PrintJson(ToJson(report));
  } else if (report.ok) {
    std::cout << "audit log OK: " << report.events << " events, " << report.checkpoints
              << " checkpoints; last checkpoint " << report.last_checkpoint_time << " covers all "
              << report.signed_tree_size << " events\n"
              << "root " << report.root << "\n"
              << "signed by " << report.public_key << "\n";
  } else {
    std::cerr << "abis: audit log FAILED verification: " << report.reason << "\n";
    if (!report.file.empty()) std::cerr << "  file: " << report.file << "\n";
    if (report.first_bad_seq) {
      std::cerr << "  first event not vouched for: seq " << *report.first_bad_seq << "\n";
    }
    std::cerr << "  read " << report.events << " events, " << report.checkpoints
              << " checkpoints\n";
  }
  return report.ok ? 0 : 1;
}

int RunShow(const AuditFlags& flags) {
  auto events = ReadAuditEvents(flags.data_dir);
  if (!events.ok()) return ReportError(flags.global, events.status());
  nlohmann::json list = nlohmann::json::array();
  std::uint64_t shown = 0;
  if (!flags.global.json) {
    std::printf("%6s  %-24s %-16s %-12s %-14s %-18s %s\n", "seq", "time (UTC)", "actor", "device",
                "action", "result", "objects");
  }
  for (const AuditEvent& event : *events) {
    if (event.seq < flags.from) continue;
    if (flags.limit != 0 && shown >= flags.limit) break;
    ++shown;
    if (flags.global.json) {
      list.push_back(ToJson(event));
      continue;
    }
    std::string objects;
    for (const std::string& id : event.object_ids) objects += (objects.empty() ? "" : ",") + id;
    std::printf("%6llu  %-24s %-16s %-12s %-14s %-18s %s\n",
                static_cast<unsigned long long>(event.seq), event.time_utc.c_str(),
                event.actor.c_str(), event.device.c_str(), event.action.c_str(),
                event.result.c_str(), objects.c_str());
  }
  if (flags.global.json) {
    PrintJson({{"events", list}, {"total", events->size()}});
  } else {
    std::cout << shown << " of " << events->size()
              << " events shown (not verified: run `abis audit verify`)\n";
  }
  return 0;
}

}  // namespace

void RegisterAuditCommand(CLI::App& app) {
  CLI::App* audit = app.add_subcommand("audit", "Tamper-evident audit log: verify, show");
  audit->require_subcommand(1);

  auto verify_flags = std::make_shared<AuditFlags>();
  CLI::App* verify = audit->add_subcommand(
      "verify", "Check the whole log offline (exit 0 only if every check passes)");
  verify->add_option("--data", verify_flags->data_dir, "Data folder holding audit/")->required();
  verify->add_option("--public-key", verify_flags->public_key,
                     "Trusted Ed25519 public key (hex); default: DIR/audit/signing.pub");
  verify->add_flag("--json", verify_flags->global.json, "Print a JSON report");
  verify->callback([verify_flags] {
    int code = RunVerify(*verify_flags);
    if (code != 0) throw CLI::RuntimeError(code);
  });

  auto show_flags = std::make_shared<AuditFlags>();
  CLI::App* show = audit->add_subcommand("show", "List events (no verification)");
  show->add_option("--data", show_flags->data_dir, "Data folder holding audit/")->required();
  show->add_option("--from", show_flags->from, "First seq to list")->capture_default_str();
  show->add_option("--limit", show_flags->limit, "At most this many events (0: all)")
      ->capture_default_str();
  show->add_flag("--json", show_flags->global.json, "Print JSON");
  show->callback([show_flags] {
    int code = RunShow(*show_flags);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace abis::cli

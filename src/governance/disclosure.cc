#include "governance/disclosure.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/digest.h"

namespace abis::governance {
namespace {

Status Fail(DisclosureVerifyReport* report, std::string reason) {
  if (report != nullptr) report->reason = reason;
  return DataLossError("disclosure package does not verify: " + reason);
}

bool DecodeHex(const std::string& hex, std::span<std::uint8_t> out) { return HexDecode(hex, out); }

}  // namespace

Result<SigningKey> SigningKeyFromSeedHex(const std::string& seed_hex) {
  if (sodium_init() < 0) return InternalError("libsodium failed to initialise");
  std::array<std::uint8_t, crypto_sign_SEEDBYTES> seed{};
  if (!DecodeHex(seed_hex, seed)) {
    return InvalidArgumentError("disclosure signing seed must be 64 lower-case hex digits");
  }
  SigningKey key;
  std::array<std::uint8_t, crypto_sign_PUBLICKEYBYTES> public_key{};
  crypto_sign_seed_keypair(public_key.data(), key.secret.data(), seed.data());
  sodium_memzero(seed.data(), seed.size());
  key.public_key_hex = HexEncode(public_key);
  return key;
}

Result<SigningKey> LoadOrCreateSigningKey(const std::string& path) {
  if (sodium_init() < 0) return InternalError("libsodium failed to initialise");
  struct stat info {};
  if (stat(path.c_str(), &info) == 0) {
    if ((info.st_mode & 077) != 0) {
      return FailedPreconditionError("signing key file '" + path +
                                     "' is readable by group or others; chmod 600 it");
    }
    std::ifstream in(path);
    std::string text;
    in >> text;
    if (!in && !in.eof()) return UnavailableError("cannot read '" + path + "'");
    return SigningKeyFromSeedHex(text);
  }
  std::array<std::uint8_t, crypto_sign_SEEDBYTES> seed{};
  randombytes_buf(seed.data(), seed.size());
  std::string text = HexEncode(seed) + "\n";
  sodium_memzero(seed.data(), seed.size());
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return LoadOrCreateSigningKey(path);  // Lost a creation race.
    return UnavailableError("cannot create '" + path + "': " + std::strerror(errno));
  }
  bool written =
      write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && fsync(fd) == 0;
  close(fd);
  if (!written) return UnavailableError("cannot write '" + path + "'");
  return SigningKeyFromSeedHex(text.substr(0, 64));
}

nlohmann::json AuditEventToJson(const AuditEvent& event) {
  return {{"seq", event.seq},
          {"time_utc", event.time_utc},
          {"prev_hash", event.prev_hash},
          {"actor", event.actor},
          {"device", event.device},
          {"action", event.action},
          {"object_ids", event.object_ids},
          {"hashes", event.hashes},
          {"result", event.result},
          {"details", event.details}};
}

Result<AuditEvent> AuditEventFromJson(const nlohmann::json& json) {
  try {
    AuditEvent event;
    event.seq = json.at("seq").get<std::uint64_t>();
    event.time_utc = json.at("time_utc").get<std::string>();
    event.prev_hash = json.at("prev_hash").get<std::string>();
    event.actor = json.at("actor").get<std::string>();
    event.device = json.at("device").get<std::string>();
    event.action = json.at("action").get<std::string>();
    event.object_ids = json.at("object_ids").get<std::vector<std::string>>();
    event.hashes = json.at("hashes").get<std::map<std::string, std::string>>();
    event.result = json.at("result").get<std::string>();
    event.details = json.at("details").get<std::string>();
    return event;
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError(std::string("malformed audit event: ") + e.what());
  }
}

nlohmann::json InclusionProofToJson(const InclusionProof& proof) {
  const Checkpoint& c = proof.checkpoint;
  return {{"seq", proof.seq},
          {"leaf_hash", proof.leaf_hash},
          {"path", proof.path},
          {"checkpoint",
           {{"tree_size", c.tree_size},
            {"root", c.root},
            {"chain_head", c.chain_head},
            {"time_utc", c.time_utc},
            {"key_id", c.key_id},
            {"signature", c.signature}}}};
}

Result<InclusionProof> InclusionProofFromJson(const nlohmann::json& json) {
  try {
    InclusionProof proof;
    proof.seq = json.at("seq").get<std::uint64_t>();
    proof.leaf_hash = json.at("leaf_hash").get<std::string>();
    proof.path = json.at("path").get<std::vector<std::string>>();
    const nlohmann::json& c = json.at("checkpoint");
    proof.checkpoint.tree_size = c.at("tree_size").get<std::uint64_t>();
    proof.checkpoint.root = c.at("root").get<std::string>();
    proof.checkpoint.chain_head = c.at("chain_head").get<std::string>();
    proof.checkpoint.time_utc = c.at("time_utc").get<std::string>();
    proof.checkpoint.key_id = c.at("key_id").get<std::string>();
    proof.checkpoint.signature = c.at("signature").get<std::string>();
    return proof;
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError(std::string("malformed inclusion proof: ") + e.what());
  }
}

Status SignDisclosurePackage(nlohmann::json& package, const SigningKey& key) {
  if (!package.is_object() || package.contains("signature")) {
    return InvalidArgumentError("package must be an unsigned JSON object");
  }
  std::string canonical = package.dump();
  std::array<std::uint8_t, crypto_sign_BYTES> signature{};
  crypto_sign_detached(signature.data(), nullptr,
                       reinterpret_cast<const std::uint8_t*>(canonical.data()), canonical.size(),
                       key.secret.data());
  package["signature"] = {{"algorithm", "ed25519"},
                          {"public_key", key.public_key_hex},
                          {"value", HexEncode(signature)}};
  return Status::Ok();
}

Status VerifyDisclosurePackage(const std::string& package_json,
                               const std::string& signer_public_key_hex,
                               const std::string& audit_public_key_hex,
                               DisclosureVerifyReport* report) {
  if (sodium_init() < 0) return InternalError("libsodium failed to initialise");
  nlohmann::json package = nlohmann::json::parse(package_json, nullptr, /*allow_exceptions=*/false);
  if (package.is_discarded() || !package.is_object()) {
    if (report != nullptr) report->reason = "not a JSON object";
    return InvalidArgumentError("disclosure package is not a JSON object");
  }
  // 1. The deployment's signature over everything else, with the pinned key.
  if (!package.contains("signature") || !package["signature"].is_object()) {
    return Fail(report, "no signature");
  }
  nlohmann::json signature = package["signature"];
  package.erase("signature");
  if (signature.value("algorithm", "") != "ed25519") return Fail(report, "unknown algorithm");
  if (!signature.contains("public_key") || !signature["public_key"].is_string() ||
      signature["public_key"].get<std::string>() != signer_public_key_hex) {
    return Fail(report, "signed by another key than the pinned disclosure key");
  }
  std::array<std::uint8_t, crypto_sign_PUBLICKEYBYTES> public_key{};
  std::array<std::uint8_t, crypto_sign_BYTES> signature_bytes{};
  if (!DecodeHex(signer_public_key_hex, public_key) || !signature.contains("value") ||
      !signature["value"].is_string() ||
      !DecodeHex(signature["value"].get<std::string>(), signature_bytes)) {
    return Fail(report, "malformed key or signature");
  }
  std::string canonical = package.dump();
  if (crypto_sign_verify_detached(signature_bytes.data(),
                                  reinterpret_cast<const std::uint8_t*>(canonical.data()),
                                  canonical.size(), public_key.data()) != 0) {
    return Fail(report, "signature does not match the contents");
  }
  // 2. The format and the pieces an honest deployment always includes.
  if (package.value("format", "") != kDisclosureFormat) return Fail(report, "unknown format");
  if (report != nullptr) {
    report->package_id = package.value("package_id", "");
    if (package.contains("search") && package["search"].is_object()) {
      report->search_id = package["search"].value("id", "");
    }
  }
  if (!package.contains("audit") || !package["audit"].is_object()) {
    return Fail(report, "no audit section");
  }
  const nlohmann::json& audit = package["audit"];
  if (audit.value("public_key", "") != audit_public_key_hex) {
    return Fail(report, "audit events were proven against another key than the pinned one");
  }
  if (!audit.contains("events") || !audit["events"].is_array() || audit["events"].empty()) {
    return Fail(report, "no audit events");
  }
  // 3. Every audit event is in the signed Merkle tree of the audit log.
  std::size_t verified = 0;
  for (const nlohmann::json& entry : audit["events"]) {
    if (!entry.is_object() || !entry.contains("event") || !entry.contains("proof")) {
      return Fail(report, "malformed audit entry");
    }
    Result<AuditEvent> event = AuditEventFromJson(entry["event"]);
    Result<InclusionProof> proof = InclusionProofFromJson(entry["proof"]);
    if (!event.ok() || !proof.ok()) return Fail(report, "malformed audit entry");
    Status included = VerifyInclusionProof(*event, *proof, audit_public_key_hex);
    if (!included.ok()) {
      return Fail(report, "audit event " + std::to_string(event->seq) +
                              " is not proven in the log: " + included.message());
    }
    ++verified;
  }
  if (report != nullptr) {
    report->audit_events_verified = verified;
    report->reason.clear();
  }
  return Status::Ok();
}

}  // namespace abis::governance

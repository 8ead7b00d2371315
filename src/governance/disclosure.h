// disclosure.h
//
// Disclosure packages (docs/formats/disclosure_package.md): a signed JSON
// bundle for the affected person, defence or court with the authority, the
// probe hash (and image when policy allows), the ranked candidate list with
// scores and calibrated FMRs, the algorithm and its model card, reviewers'
// decisions, disputes, and the audit events of the search with their Merkle
// inclusion proofs. The deployment signs the canonical JSON (keys sorted, no
// whitespace) of everything but the "signature" member with Ed25519.
//
// VerifyDisclosurePackage is the offline verifier: it needs only the
// package and the two pinned public keys, no access to the deployment.
//
// Thread safety: pure functions.

#ifndef ABIS_GOVERNANCE_DISCLOSURE_H_
#define ABIS_GOVERNANCE_DISCLOSURE_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "abis/status.h"

#include "audit/audit_event.h"
#include "audit/audit_log.h"

namespace abis::governance {

inline constexpr char kDisclosureFormat[] = "abis-disclosure-package/1";
inline constexpr char kLeadMarking[] =
    "Investigative lead - not an identification. A candidate list is not a match; it cannot be "
    "the sole basis for any action.";

// An Ed25519 signing key made from a 32-byte seed.
struct SigningKey {
  std::array<std::uint8_t, 64> secret{};
  std::string public_key_hex;
};
Result<SigningKey> SigningKeyFromSeedHex(const std::string& seed_hex);
// Loads "<path>" (64 hex digits) or creates it with a random seed, mode 0600.
Result<SigningKey> LoadOrCreateSigningKey(const std::string& path);

nlohmann::json AuditEventToJson(const AuditEvent& event);
Result<AuditEvent> AuditEventFromJson(const nlohmann::json& json);
nlohmann::json InclusionProofToJson(const InclusionProof& proof);
Result<InclusionProof> InclusionProofFromJson(const nlohmann::json& json);

// Adds the "signature" member to `package` (which must not have one).
Status SignDisclosurePackage(nlohmann::json& package, const SigningKey& key);

struct DisclosureVerifyReport {
  std::string package_id;
  std::string search_id;
  std::size_t audit_events_verified = 0;
  std::string reason;  // Why verification failed; empty when it passed.
};

// Checks the signature against `signer_public_key_hex` (the deployment's
// pinned disclosure key), the format, and every audit event's inclusion
// proof against `audit_public_key_hex` (the pinned audit-log key). OK only
// if all of it holds; DataLoss (or InvalidArgument for unparsable text)
// otherwise, with `report->reason`.
Status VerifyDisclosurePackage(const std::string& package_json,
                               const std::string& signer_public_key_hex,
                               const std::string& audit_public_key_hex,
                               DisclosureVerifyReport* report = nullptr);

}  // namespace abis::governance

#endif  // ABIS_GOVERNANCE_DISCLOSURE_H_

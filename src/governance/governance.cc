// Governance: opening, audit plumbing, sealing, galleries, authorities and
// the search scope check. Review, retention, disputes, disclosure and the
// suspension switch live in governance_review.cc and governance_lifecycle.cc.

#include "governance/governance.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <utility>

#include <sodium.h>

#include "core/digest.h"
#include "governance/governance_internal.h"
#include "store/record_crypto.h"

namespace abis::governance {

std::string NewId(const std::string& prefix) {
  std::array<std::uint8_t, 8> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  return prefix + "-" + HexEncode(bytes);
}

bool IsLowerHex64(const std::string& text) {
  if (text.size() != 64) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

CandidateInput CandidateFromEngine(const std::string& gallery, const Candidate& candidate) {
  CandidateInput input;
  input.gallery = gallery;
  input.identity = candidate.identity;
  input.reference_id = candidate.reference_id;
  input.score = candidate.score;
  input.fmr = candidate.fmr;
  input.fmr_is_upper_bound = candidate.fmr_is_upper_bound;
  input.expected_false_candidates = candidate.expected_false_candidates;
  return input;
}

// ---------------------------------------------------------------- Impl ----

Result<std::uint64_t> Governance::Impl::Audit(const Actor& actor, const std::string& action,
                                              std::vector<std::string> object_ids,
                                              std::string details,
                                              std::map<std::string, std::string> hashes,
                                              const std::string& result) {
  AuditEvent event;
  event.actor = actor.name;
  event.device = actor.device;
  event.action = action;
  if (object_ids.size() > kAuditMaxObjectIds) object_ids.resize(kAuditMaxObjectIds);
  event.object_ids = std::move(object_ids);
  event.hashes = std::move(hashes);
  event.result = result;
  if (details.size() > kAuditMaxDetailsBytes) details.resize(kAuditMaxDetailsBytes);
  event.details = std::move(details);
  Result<AuditReceipt> receipt = audit->Append(std::move(event));
  if (!receipt.ok()) {
    return Refusal(StatusCode::kUnavailable, "audit_unavailable",
                   "the audit log cannot record this operation, so it is refused: " +
                       receipt.status().message());
  }
  return receipt->seq;
}

Status Governance::Impl::Refuse(const Actor& actor, const std::string& action,
                                std::vector<std::string> object_ids, Status refusal) {
  std::string details = "refused reason=" + GovernanceReason(refusal);
  std::string message = refusal.message();
  // Keep the audit details printable ASCII whatever the message holds.
  for (char& c : message) {
    if (c < 0x20 || c > 0x7E) c = '?';
  }
  details += " " + message;
  std::vector<std::string> ids;
  for (std::string& id : object_ids) {
    if (IsValidIdentifier(id)) ids.push_back(std::move(id));
  }
  Result<std::uint64_t> seq = Audit(actor, action, std::move(ids), std::move(details), {},
                                    std::string(StatusCodeName(refusal.code())));
  if (!seq.ok()) return seq.status();
  return refusal;
}

Status Governance::Impl::Store(const char* kind, const std::string& id,
                               const nlohmann::json& body) {
  return db->PutObject(kind, id, body.dump());
}

Result<std::optional<Authority>> Governance::Impl::LoadAuthority(const std::string& id) {
  return Load<Authority>(kKindAuthority, id, AuthorityFromJson);
}
Result<std::optional<SearchRecord>> Governance::Impl::LoadSearch(const std::string& id) {
  return Load<SearchRecord>(kKindSearch, id, SearchFromJson);
}
Result<std::optional<GalleryRecord>> Governance::Impl::LoadGallery(const std::string& name) {
  return Load<GalleryRecord>(kKindGallery, name, GalleryFromJson);
}

Result<std::vector<SearchRecord>> Governance::Impl::AllSearches() {
  ABIS_ASSIGN_OR_RETURN(std::vector<std::string> bodies, db->ListObjects(kKindSearch));
  std::vector<SearchRecord> out;
  for (const std::string& body : bodies) {
    Result<SearchRecord> r = SearchFromJson(nlohmann::json::parse(body, nullptr, false));
    if (!r.ok()) return DataLossError("governance.db: " + r.status().message());
    out.push_back(std::move(*r));
  }
  return out;
}

Result<std::vector<Authority>> Governance::Impl::AllAuthorities() {
  ABIS_ASSIGN_OR_RETURN(std::vector<std::string> bodies, db->ListObjects(kKindAuthority));
  std::vector<Authority> out;
  for (const std::string& body : bodies) {
    Result<Authority> a = AuthorityFromJson(nlohmann::json::parse(body, nullptr, false));
    if (!a.ok()) return DataLossError("governance.db: " + a.status().message());
    out.push_back(std::move(*a));
  }
  return out;
}

Result<Suspension> Governance::Impl::CurrentSuspension() {
  ABIS_ASSIGN_OR_RETURN(std::optional<Suspension> s,
                        Load<Suspension>(kKindSuspension, "current", SuspensionFromJson));
  return s ? *s : Suspension{};
}

namespace {

// Associated data binding a sealed blob to its search and part, so a blob
// moved to another search or part does not open.
std::string SealContext(const SearchRecord& record, const std::string& part) {
  return "abis.governance.v1:" + record.view.id + ":" + std::to_string(record.seal_id) + ":" + part;
}

std::string SealBytes(const SecretKey& key, const std::string& context, std::string_view data) {
  std::string out(kRecordNonceBytes + data.size() + kRecordTagBytes, '\0');
  auto* bytes = reinterpret_cast<std::uint8_t*>(out.data());
  randombytes_buf(bytes, kRecordNonceBytes);
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      bytes + kRecordNonceBytes, nullptr, reinterpret_cast<const std::uint8_t*>(data.data()),
      data.size(), reinterpret_cast<const std::uint8_t*>(context.data()), context.size(), nullptr,
      bytes, key.bytes().data());
  return out;
}

Result<std::string> OpenBytes(const SecretKey& key, const std::string& context,
                              const std::string& sealed) {
  if (sealed.size() < kRecordNonceBytes + kRecordTagBytes) {
    return DataLossError("sealed blob too short");
  }
  std::string out(sealed.size() - kRecordNonceBytes - kRecordTagBytes, '\0');
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(sealed.data());
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<std::uint8_t*>(out.data()), nullptr, nullptr, bytes + kRecordNonceBytes,
          sealed.size() - kRecordNonceBytes, reinterpret_cast<const std::uint8_t*>(context.data()),
          context.size(), bytes, key.bytes().data()) != 0) {
    return DataLossError("sealed blob does not authenticate");
  }
  return out;
}

}  // namespace

Status Governance::Impl::SealSearch(SearchRecord& record, const std::vector<std::uint8_t>& probe,
                                    const std::vector<CandidateInput>& candidates) {
  ABIS_ASSIGN_OR_RETURN(SecretKey data_key, SecretKey::Random());
  WrappedKey wrapped = WrapDataKey(*master_key, data_key, record.seal_id);
  ABIS_RETURN_IF_ERROR(db->PutKey(record.seal_id, {wrapped.nonce, wrapped.ciphertext}));
  std::string probe_text(probe.begin(), probe.end());
  ABIS_RETURN_IF_ERROR(db->PutSealed(
      record.seal_id, "probe", SealBytes(data_key, SealContext(record, "probe"), probe_text)));
  sodium_memzero(probe_text.data(), probe_text.size());
  nlohmann::json list = nlohmann::json::array();
  for (const CandidateInput& c : candidates) list.push_back(ToJson(c));
  ABIS_RETURN_IF_ERROR(
      db->PutSealed(record.seal_id, "candidates",
                    SealBytes(data_key, SealContext(record, "candidates"), list.dump())));
  record.sealed = true;
  return Status::Ok();
}

namespace {

Result<SecretKey> UnwrapSearchKey(GovernanceDb& db, const SecretKey& master,
                                  const SearchRecord& record) {
  ABIS_ASSIGN_OR_RETURN(std::optional<GovernanceDb::WrappedKeyRow> row, db.GetKey(record.seal_id));
  if (!row) {
    return Refusal(StatusCode::kNotFound, "search_data_erased",
                   "the probe and candidate list of " + record.view.id + " were erased");
  }
  ABIS_ASSIGN_OR_RETURN(SecretKey data_key, SecretKey::Random());
  ABIS_RETURN_IF_ERROR(UnwrapDataKey(
      master,
      std::span(reinterpret_cast<const std::uint8_t*>(row->nonce.data()), row->nonce.size()),
      std::span(reinterpret_cast<const std::uint8_t*>(row->wrapped.data()), row->wrapped.size()),
      record.seal_id, data_key));
  return data_key;
}

}  // namespace

Result<std::vector<CandidateInput>> Governance::Impl::OpenCandidates(const SearchRecord& record) {
  ABIS_ASSIGN_OR_RETURN(SecretKey key, UnwrapSearchKey(*db, *master_key, record));
  ABIS_ASSIGN_OR_RETURN(std::optional<std::string> blob,
                        db->GetSealed(record.seal_id, "candidates"));
  if (!blob) return DataLossError("candidate list missing for " + record.view.id);
  ABIS_ASSIGN_OR_RETURN(std::string text, OpenBytes(key, SealContext(record, "candidates"), *blob));
  nlohmann::json list = nlohmann::json::parse(text, nullptr, false);
  if (!list.is_array()) return DataLossError("candidate list corrupt for " + record.view.id);
  std::vector<CandidateInput> out;
  for (const nlohmann::json& c : list) {
    ABIS_ASSIGN_OR_RETURN(CandidateInput input, CandidateInputFromJson(c));
    out.push_back(std::move(input));
  }
  return out;
}

Result<std::vector<std::uint8_t>> Governance::Impl::OpenProbeBytes(const SearchRecord& record) {
  ABIS_ASSIGN_OR_RETURN(SecretKey key, UnwrapSearchKey(*db, *master_key, record));
  ABIS_ASSIGN_OR_RETURN(std::optional<std::string> blob, db->GetSealed(record.seal_id, "probe"));
  if (!blob) return DataLossError("probe missing for " + record.view.id);
  ABIS_ASSIGN_OR_RETURN(std::string text, OpenBytes(key, SealContext(record, "probe"), *blob));
  std::vector<std::uint8_t> probe(text.begin(), text.end());
  sodium_memzero(text.data(), text.size());
  return probe;
}

Status Governance::Impl::EraseSearchData(SearchRecord& record, const Actor& actor,
                                         const std::string& rule,
                                         std::vector<ErasureRecord>* erased) {
  if (!record.sealed) return Status::Ok();
  ABIS_RETURN_IF_ERROR(db->EraseSeal(record.seal_id));
  record.sealed = false;
  TimePoint now = Now();
  record.view.erased_at = now;
  ErasureRecord erasure;
  erasure.object_id = record.view.id;
  erasure.what = "probe+candidate_list";
  erasure.rule = rule;
  erasure.erased_at = now;
  erasure.erased_by = actor.name;
  ABIS_ASSIGN_OR_RETURN(
      erasure.audit_seq,
      Audit(actor, "gov.erase", {record.view.id, record.view.case_id},
            "what=probe+candidate_list rule=" + rule + " crypto_erase=data_key_destroyed",
            {{"probe_sha256", record.view.probe_sha256}}));
  record.audit_seqs.push_back(erasure.audit_seq);
  ABIS_RETURN_IF_ERROR(Store(kKindErasure, record.view.id + ":" + std::to_string(erasure.audit_seq),
                             ToJson(erasure)));
  if (erased != nullptr) erased->push_back(std::move(erasure));
  return Status::Ok();
}

// ---------------------------------------------------------------- Open ----

Governance::Governance(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Governance::~Governance() = default;

Result<std::unique_ptr<Governance>> Governance::Open(GovernanceOptions options, AuditSink* audit) {
  if (sodium_init() < 0) return InternalError("libsodium failed to initialise");
  if (audit == nullptr) {
    return InvalidArgumentError("governance needs an audit sink: there is no unaudited mode");
  }
  if (options.data_dir.empty()) return InvalidArgumentError("governance data_dir is empty");
  if (options.legal_bases.empty()) {
    return InvalidArgumentError("governance needs at least one legal basis (deployment gate)");
  }
  for (const std::string& basis : options.legal_bases) {
    if (!IsValidIdentifier(basis)) {
      return InvalidArgumentError("legal basis '" + basis + "' is not an identifier");
    }
  }
  if (options.urgency_deadline < std::chrono::hours(1) ||
      options.urgency_deadline > std::chrono::hours(48)) {
    return InvalidArgumentError("urgency_deadline must be 1..48 hours (AI Act Art. 5(3), 26(10))");
  }
  if (!(options.probe_quality_floor >= 0 && options.probe_quality_floor <= 100)) {
    return InvalidArgumentError("probe_quality_floor must be 0..100");
  }
  if (options.matched_retention <= std::chrono::hours(0)) {
    return InvalidArgumentError("matched_retention must be positive (no indefinite retention)");
  }
  if (options.serious_offence_min_years < 1) {
    return InvalidArgumentError("serious_offence_min_years must be at least 1");
  }
  for (const std::string& key : options.trusted_authority_keys) {
    if (!IsLowerHex64(key)) {
      return InvalidArgumentError("trusted authority keys are 64 lower-case hex digits");
    }
  }
  if (!options.clock) options.clock = [] { return std::chrono::system_clock::now(); };

  auto impl = std::make_unique<Impl>();
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  const std::string db_path = options.data_dir + "/governance.db";
  ABIS_ASSIGN_OR_RETURN(impl->db, GovernanceDb::Open(db_path));
  ABIS_ASSIGN_OR_RETURN(ResolvedMasterKey master, ResolveMasterKey(db_path, options.master_key));
  impl->master_key.emplace(std::move(master.key));
  if (!options.disclosure_signing_seed_hex.empty()) {
    ABIS_ASSIGN_OR_RETURN(impl->signing_key,
                          SigningKeyFromSeedHex(options.disclosure_signing_seed_hex));
  } else {
    ABIS_ASSIGN_OR_RETURN(impl->signing_key,
                          LoadOrCreateSigningKey(options.data_dir + "/disclosure-signing.key"));
  }
  if (!options.model_card_json.empty()) {
    nlohmann::json card = nlohmann::json::parse(options.model_card_json, nullptr, false);
    if (card.is_discarded() || !card.is_object()) {
      return InvalidArgumentError("model_card_json is not a JSON object");
    }
    impl->model_card = std::move(card);
  }
  impl->options = std::move(options);
  impl->audit = audit;
  return std::unique_ptr<Governance>(new Governance(std::move(impl)));
}

std::string Governance::disclosure_public_key_hex() const {
  return impl_->signing_key.public_key_hex;
}

// ----------------------------------------------------------- Galleries ----

Result<GalleryRecord> Governance::RegisterGallery(const Actor& actor,
                                                  const GalleryRegistration& request) {
  std::lock_guard lock(mutex_);
  Impl& s = *impl_;
  const std::string action = "gov.gallery.register";
  auto refuse = [&](StatusCode code, const char* reason, const std::string& detail) {
    return s.Refuse(actor, action, {request.name}, Refusal(code, reason, detail));
  };
  if (actor.role != ActorRole::kSupervisor) {
    return refuse(StatusCode::kPermissionDenied, "role_cannot_register_gallery",
                  "only a supervisor registers galleries");
  }
  if (!IsValidIdentifier(request.name) || request.name == "*" || request.name == "all") {
    return refuse(StatusCode::kInvalidArgument, "bad_gallery_name",
                  "gallery names are identifiers; '*' and 'all' are not galleries");
  }
  const auto& bases = s.options.legal_bases;
  if (std::find(bases.begin(), bases.end(), request.legal_basis) == bases.end()) {
    return refuse(StatusCode::kPermissionDenied, "legal_basis_not_allowed",
                  "legal basis '" + request.legal_basis + "' is not on the deployment's list");
  }
  if (request.provenance == Provenance::kCivilIdentityRegister &&
      !IsValidReasonText(request.statutory_authorisation, 200)) {
    return refuse(StatusCode::kPermissionDenied, "statutory_authorisation_required",
                  "a civil identity register needs the statute authorising its search (X-17)");
  }
  if (!IsValidReasonText(request.retention_rule) || !IsValidReasonText(request.owner, 200) ||
      request.review_interval_days < 1 || request.review_interval_days > 3650) {
    return refuse(StatusCode::kInvalidArgument, "gallery_registration_incomplete",
                  "retention_rule, owner and review_interval_days (1..3650) are required");
  }
  ABIS_ASSIGN_OR_RETURN(std::optional<GalleryRecord> existing, s.LoadGallery(request.name));
  if (existing) {
    return refuse(StatusCode::kAlreadyExists, "gallery_already_registered",
                  "gallery '" + request.name + "' is already registered");
  }
  GalleryRecord record;
  record.registration = request;
  record.registered_by = actor.name;
  record.registered_at = s.Now();
  record.next_review_at =
      record.registered_at + std::chrono::hours(24) * request.review_interval_days;
  ABIS_RETURN_IF_ERROR(InTransaction(*s.db, [&]() -> Status {
    ABIS_RETURN_IF_ERROR(s.Store(kKindGallery, request.name, ToJson(record)));
    return s
        .Audit(
            actor, action, {request.name},
            "legal_basis=" + request.legal_basis +
                " provenance=" + std::string(ProvenanceName(request.provenance)) +
                " subject_category=" + std::string(SubjectCategoryName(request.subject_category)))
        .status();
  }));
  return record;
}

Result<GalleryRecord> Governance::GetGallery(const std::string& name) {
  std::lock_guard lock(mutex_);
  ABIS_ASSIGN_OR_RETURN(std::optional<GalleryRecord> record, impl_->LoadGallery(name));
  if (!record) {
    return Refusal(StatusCode::kNotFound, "gallery_not_registered",
                   "gallery '" + name + "' is not registered");
  }
  return *record;
}

// ---------------------------------------------------------- Authorities ----

namespace {

bool IsWildcard(const std::string& gallery) {
  return gallery == "all" || gallery == "ALL" || gallery.find('*') != std::string::npos ||
         gallery.find('%') != std::string::npos || gallery.find('?') != std::string::npos;
}

std::string AuthorityDetails(const Authority& a) {
  return "kind=" + std::string(AuthorityKindName(a.request.kind)) +
         " purpose=" + std::string(PurposeCategoryName(a.request.scope.purpose)) +
         " urgent=" + (a.request.urgent ? "1" : "0") +
         " max_searches=" + std::to_string(a.request.scope.max_searches);
}

}  // namespace

// Validation shared by CreateAuthority and ImportAuthority: every refusal is
// an invalid_argument or permission_denied with its reason.
static Status ValidateAuthorityRequest(Governance::Impl& s, const AuthorityRequest& r) {
  auto bad = [](const char* reason, const std::string& detail) {
    return Refusal(StatusCode::kInvalidArgument, reason, detail);
  };
  if (!IsValidIdentifier(r.reference)) return bad("reference_required", "reference is required");
  if (!IsValidReasonText(r.issuing_body, 200)) {
    return bad("issuing_body_required", "issuing_body is required");
  }
  const auto& bases = s.options.legal_bases;
  if (std::find(bases.begin(), bases.end(), r.legal_basis) == bases.end()) {
    return Refusal(StatusCode::kPermissionDenied, "legal_basis_not_allowed",
                   "legal basis '" + r.legal_basis + "' is not on the deployment's list");
  }
  const AuthorityScope& scope = r.scope;
  if (scope.galleries.empty()) {
    return bad("galleries_required", "an authority names its galleries explicitly");
  }
  for (const std::string& g : scope.galleries) {
    if (IsWildcard(g)) {
      return bad("gallery_wildcard_refused", "galleries are named one by one, never by pattern");
    }
    ABIS_ASSIGN_OR_RETURN(std::optional<GalleryRecord> gallery, s.LoadGallery(g));
    if (!gallery) {
      return Refusal(StatusCode::kPermissionDenied, "gallery_not_registered",
                     "gallery '" + g + "' is not registered");
    }
  }
  if (scope.modalities.empty()) return bad("modalities_required", "name the modalities");
  if (!IsValidIdentifier(scope.case_id)) {
    return bad("case_required", "an authority is bound to a named case");
  }
  if (scope.purpose == PurposeCategory::kSeriousCrimeSuspect) {
    if (!IsValidIdentifier(scope.offence_code)) {
      return bad("offence_code_required", "serious_crime_suspect needs an offence code");
    }
    if (scope.max_penalty_years < s.options.serious_offence_min_years) {
      return Refusal(StatusCode::kPermissionDenied, "offence_below_threshold",
                     "the offence's maximum penalty is below " +
                         std::to_string(s.options.serious_offence_min_years) + " years");
    }
  }
  if (scope.not_after <= scope.not_before) {
    return bad("bad_time_window", "not_after must be later than not_before");
  }
  if (scope.max_searches < 1 || scope.max_searches > 10000) {
    return bad("bad_max_searches", "max_searches must be 1..10000");
  }
  if (r.urgent && !IsValidReasonText(r.justification)) {
    return bad("justification_required", "an urgent request states its facts");
  }
  return Status::Ok();
}

Result<Authority> Governance::CreateAuthority(const Actor& actor, const AuthorityRequest& request) {
  std::lock_guard lock(mutex_);
  Impl& s = *impl_;
  const std::string action = "gov.authority.create";
  const bool issuing = actor.role == ActorRole::kAuthoriser;
  if (!issuing && actor.role != ActorRole::kOperator && actor.role != ActorRole::kSupervisor) {
    return s.Refuse(actor, action, {request.scope.case_id},
                    Refusal(StatusCode::kPermissionDenied, "role_cannot_request_authority",
                            "authorisers issue authorities; operators and supervisors request"));
  }
  Status valid = ValidateAuthorityRequest(s, request);
  if (!valid.ok()) return s.Refuse(actor, action, {request.scope.case_id}, valid);

  Authority a;
  a.id = NewId("auth");
  a.request = request;
  a.requested_by = actor.name;
  a.requested_at = s.Now();
  if (issuing) {
    a.request.urgent = false;  // Granted at once: nothing to be urgent about.
    a.state = AuthorityState::kGranted;
    a.decided_by = actor.name;
    a.decided_at = a.requested_at;
    a.decision_reason = "issued by authoriser";
  } else if (request.urgent) {
    a.urgency_deadline = a.requested_at + s.options.urgency_deadline;
  }
  ABIS_RETURN_IF_ERROR(InTransaction(*s.db, [&]() -> Status {
    ABIS_ASSIGN_OR_RETURN(
        std::uint64_t seq,
        s.Audit(actor, issuing ? "gov.authority.issue" : "gov.authority.request",
                {a.id, request.scope.case_id, request.reference}, AuthorityDetails(a)));
    a.audit_seqs.push_back(seq);
    return s.Store(kKindAuthority, a.id, ToJson(a));
  }));
  return a;
}

Result<Authority> Governance::ImportAuthority(const Actor& actor,
                                              const SignedAuthority& signed_authority) {
  std::lock_guard lock(mutex_);
  Impl& s = *impl_;
  const std::string action = "gov.authority.import";
  auto refuse = [&](StatusCode code, const char* reason, const std::string& detail) {
    return s.Refuse(actor, action, {}, Refusal(code, reason, detail));
  };
  if (actor.role != ActorRole::kAuthoriser && actor.role != ActorRole::kSupervisor) {
    return refuse(StatusCode::kPermissionDenied, "role_cannot_import_authority",
                  "only an authoriser or supervisor imports signed authorities");
  }
  const auto& keys = s.options.trusted_authority_keys;
  if (std::find(keys.begin(), keys.end(), signed_authority.public_key_hex) == keys.end()) {
    return refuse(StatusCode::kPermissionDenied, "authority_key_not_trusted",
                  "the signing key is not a configured external authority key");
  }
  std::array<std::uint8_t, crypto_sign_PUBLICKEYBYTES> key{};
  std::array<std::uint8_t, crypto_sign_BYTES> signature{};
  if (!HexDecode(signed_authority.public_key_hex, key) ||
      !HexDecode(signed_authority.signature_hex, signature) ||
      crypto_sign_verify_detached(
          signature.data(),
          reinterpret_cast<const std::uint8_t*>(signed_authority.payload_json.data()),
          signed_authority.payload_json.size(), key.data()) != 0) {
    return refuse(StatusCode::kPermissionDenied, "authority_signature_invalid",
                  "the authority record's signature does not verify");
  }
  nlohmann::json payload = nlohmann::json::parse(signed_authority.payload_json, nullptr, false);
  if (payload.is_discarded()) {
    return refuse(StatusCode::kInvalidArgument, "authority_payload_malformed", "not JSON");
  }
  Result<AuthorityRequest> request = AuthorityRequestFromJson(payload);
  if (!request.ok()) {
    return refuse(StatusCode::kInvalidArgument, "authority_payload_malformed",
                  request.status().message());
  }
  Status valid = ValidateAuthorityRequest(s, *request);
  if (!valid.ok()) return s.Refuse(actor, action, {request->scope.case_id}, valid);
  Authority a;
  a.id = NewId("auth");
  a.request = *request;
  a.request.urgent = false;
  a.state = AuthorityState::kGranted;
  a.requested_by = actor.name;
  a.requested_at = s.Now();
  a.decided_by = "external:" + signed_authority.public_key_hex.substr(0, 16);
  a.imported_by = actor.name;
  a.decided_at = a.requested_at;
  a.decision_reason = "imported signed record";
  ABIS_RETURN_IF_ERROR(InTransaction(*s.db, [&]() -> Status {
    ABIS_ASSIGN_OR_RETURN(
        std::uint64_t seq,
        s.Audit(actor, action, {a.id, a.request.scope.case_id, a.request.reference},
                AuthorityDetails(a) + " issuer_key=" + signed_authority.public_key_hex,
                {{"record_sha256", Sha256Hex(signed_authority.payload_json)}}));
    a.audit_seqs.push_back(seq);
    return s.Store(kKindAuthority, a.id, ToJson(a));
  }));
  return a;
}

Result<int> Governance::Impl::PurgeSearchesOf(const Authority& authority, const Actor& actor,
                                              const std::string& rule,
                                              std::vector<ErasureRecord>* erased) {
  ABIS_ASSIGN_OR_RETURN(std::vector<SearchRecord> searches, AllSearches());
  int purged = 0;
  for (SearchRecord& r : searches) {
    if (r.view.authority_id != authority.id) continue;
    SearchState st = r.view.state;
    bool active = st == SearchState::kAuthorised || st == SearchState::kInReview ||
                  st == SearchState::kMatched || r.sealed;
    if (!active) continue;
    if (st == SearchState::kAuthorised || st == SearchState::kInReview ||
        st == SearchState::kMatched) {
      r.view.state = SearchState::kStopped;
      r.view.stop_reason = rule;
      r.view.results_withheld = true;
      for (CandidateState& c : r.states) c = CandidateState::kVoid;
    }
    ABIS_ASSIGN_OR_RETURN(
        std::uint64_t seq,
        Audit(actor, "gov.search.purge", {r.view.id, authority.id},
              "rule=" + rule + " candidates=" + std::to_string(r.view.candidate_count)));
    r.audit_seqs.push_back(seq);
    ABIS_RETURN_IF_ERROR(EraseSearchData(r, actor, rule, erased));
    ABIS_RETURN_IF_ERROR(Store(kKindSearch, r.view.id, ToJson(r)));
    ++purged;
  }
  return purged;
}

Result<std::vector<std::string>> Governance::Impl::ProcessDeadlines(
    std::vector<ErasureRecord>* erased_records) {
  const Actor system{"system", ActorRole::kAdmin, ""};
  TimePoint now = Now();
  ABIS_ASSIGN_OR_RETURN(std::vector<Authority> authorities, AllAuthorities());
  std::vector<std::string> expired;
  for (Authority& a : authorities) {
    bool urgent_overdue = a.state == AuthorityState::kRequested && a.request.urgent &&
                          a.urgency_deadline && now > *a.urgency_deadline;
    bool window_over =
        (a.state == AuthorityState::kGranted || a.state == AuthorityState::kRequested) &&
        now > a.request.scope.not_after;
    if (!urgent_overdue && !window_over) continue;
    bool erased = false;
    Status done = InTransaction(*db, [&]() -> Status {
      int purged = 0;
      if (urgent_overdue) {
        ABIS_ASSIGN_OR_RETURN(
            purged, PurgeSearchesOf(a, system, "urgency_deadline_passed", erased_records));
        erased = purged > 0;
      }
      a.state = AuthorityState::kExpired;
      a.decided_at = now;
      a.decision_reason =
          urgent_overdue ? "not granted before the urgency deadline" : "time window ended";
      ABIS_ASSIGN_OR_RETURN(
          std::uint64_t seq,
          Audit(system, "gov.authority.expire", {a.id, a.request.scope.case_id},
                std::string("cause=") + (urgent_overdue ? "urgency_deadline" : "window_end") +
                    " purged_searches=" + std::to_string(purged)));
      a.audit_seqs.push_back(seq);
      return Store(kKindAuthority, a.id, ToJson(a));
    });
    ABIS_RETURN_IF_ERROR(done);
    if (erased) ABIS_RETURN_IF_ERROR(db->Checkpoint());
    expired.push_back(a.id);
  }
  return expired;
}

namespace {

// Shared checks of Grant / Reject / Revoke.
Result<Authority> LoadForDecision(Governance::Impl& s, const Actor& actor,
                                  const std::string& action, const std::string& id,
                                  const std::string& reason, bool must_be_requested) {
  auto refuse = [&](StatusCode code, const char* why, const std::string& detail) {
    return s.Refuse(actor, action, {id}, Refusal(code, why, detail));
  };
  if (actor.role != ActorRole::kAuthoriser) {
    return refuse(StatusCode::kPermissionDenied, "role_cannot_decide_authority",
                  "only an authoriser decides on authorities");
  }
  if (!IsValidReasonText(reason)) {
    return refuse(StatusCode::kInvalidArgument, "reason_required",
                  "a decision states its reason (printable text, up to 500 bytes)");
  }
  ABIS_ASSIGN_OR_RETURN(std::vector<std::string> expired, s.ProcessDeadlines());
  (void)expired;
  ABIS_ASSIGN_OR_RETURN(std::optional<Authority> a, s.LoadAuthority(id));
  if (!a) return refuse(StatusCode::kNotFound, "authority_unknown", "no authority '" + id + "'");
  if (must_be_requested && a->state != AuthorityState::kRequested) {
    const char* why =
        a->state == AuthorityState::kExpired ? "authority_expired" : "authority_not_pending";
    return refuse(StatusCode::kFailedPrecondition, why,
                  "authority is " + std::string(AuthorityStateName(a->state)));
  }
  if (!must_be_requested && a->state != AuthorityState::kGranted) {
    return refuse(StatusCode::kFailedPrecondition, "authority_not_granted",
                  "authority is " + std::string(AuthorityStateName(a->state)));
  }
  if (a->requested_by == actor.name) {
    return refuse(StatusCode::kPermissionDenied, "requester_cannot_decide",
                  "the requester of an authority cannot decide on it");
  }
  return std::move(*a);
}

}  // namespace

Result<Authority> Governance::GrantAuthority(const Actor& actor, const std::string& authority_id,
                                             const std::string& reason) {
  std::lock_guard lock(mutex_);
  Impl& s = *impl_;
  const std::string action = "gov.authority.grant";
  ABIS_ASSIGN_OR_RETURN(Authority a, LoadForDecision(s, actor, action, authority_id, reason, true));
  a.state = AuthorityState::kGranted;
  a.decided_by = actor.name;
  a.decided_at = s.Now();
  a.decision_reason = reason;
  ABIS_RETURN_IF_ERROR(InTransaction(*s.db, [&]() -> Status {
    ABIS_ASSIGN_OR_RETURN(std::uint64_t seq, s.Audit(actor, action, {a.id, a.request.scope.case_id},
                                                     AuthorityDetails(a) + " reason=" + reason));
    a.audit_seqs.push_back(seq);
    return s.Store(kKindAuthority, a.id, ToJson(a));
  }));
  return a;
}

Result<Authority> Governance::RejectAuthority(const Actor& actor, const std::string& authority_id,
                                              const std::string& reason) {
  std::lock_guard lock(mutex_);
  Impl& s = *impl_;
  const std::string action = "gov.authority.reject";
  ABIS_ASSIGN_OR_RETURN(Authority a, LoadForDecision(s, actor, action, authority_id, reason, true));
  a.state = AuthorityState::kRejected;
  a.decided_by = actor.name;
  a.decided_at = s.Now();
  a.decision_reason = reason;
  int purged = 0;
  ABIS_RETURN_IF_ERROR(InTransaction(*s.db, [&]() -> Status {
    // AI Act Art. 5(3): on rejection the use stops and its data, results and
    // outputs are deleted at once.
    ABIS_ASSIGN_OR_RETURN(purged, s.PurgeSearchesOf(a, actor, "authority_rejected"));
    ABIS_ASSIGN_OR_RETURN(std::uint64_t seq,
                          s.Audit(actor, action, {a.id, a.request.scope.case_id},
                                  AuthorityDetails(a) + " purged_searches=" +
                                      std::to_string(purged) + " reason=" + reason));
    a.audit_seqs.push_back(seq);
    return s.Store(kKindAuthority, a.id, ToJson(a));
  }));
  if (purged > 0) ABIS_RETURN_IF_ERROR(s.db->Checkpoint());
  return a;
}

Result<Authority> Governance::RevokeAuthority(const Actor& actor, const std::string& authority_id,
                                              const std::string& reason) {
  std::lock_guard lock(mutex_);
  Impl& s = *impl_;
  const std::string action = "gov.authority.revoke";
  ABIS_ASSIGN_OR_RETURN(Authority a,
                        LoadForDecision(s, actor, action, authority_id, reason, false));
  a.state = AuthorityState::kRevoked;
  a.decision_reason = reason;
  ABIS_RETURN_IF_ERROR(InTransaction(*s.db, [&]() -> Status {
    ABIS_ASSIGN_OR_RETURN(std::uint64_t seq, s.Audit(actor, action, {a.id, a.request.scope.case_id},
                                                     AuthorityDetails(a) + " reason=" + reason));
    a.audit_seqs.push_back(seq);
    return s.Store(kKindAuthority, a.id, ToJson(a));
  }));
  return a;
}

Result<Authority> Governance::GetAuthority(const std::string& authority_id) {
  std::lock_guard lock(mutex_);
  ABIS_ASSIGN_OR_RETURN(std::vector<std::string> expired, impl_->ProcessDeadlines());
  (void)expired;
  ABIS_ASSIGN_OR_RETURN(std::optional<Authority> a, impl_->LoadAuthority(authority_id));
  if (!a) {
    return Refusal(StatusCode::kNotFound, "authority_unknown",
                   "no authority '" + authority_id + "'");
  }
  return std::move(*a);
}

Result<std::vector<Authority>> Governance::ListAuthorities() {
  std::lock_guard lock(mutex_);
  ABIS_ASSIGN_OR_RETURN(std::vector<std::string> expired, impl_->ProcessDeadlines());
  (void)expired;
  return impl_->AllAuthorities();
}

// ------------------------------------------------------------ Searches ----

Status Governance::Impl::CheckAuthorityScope(const Actor& actor, const Authority& a,
                                             const std::vector<std::string>& galleries,
                                             const std::string& case_id) {
  auto deny = [](const char* reason, const std::string& detail) {
    return Refusal(StatusCode::kPermissionDenied, reason, detail);
  };
  TimePoint now = Now();
  switch (a.state) {
    case AuthorityState::kRejected:
      return deny("authority_rejected", "authority " + a.id + " was rejected");
    case AuthorityState::kRevoked:
      return deny("authority_revoked", "authority " + a.id + " was revoked");
    case AuthorityState::kExpired:
      return a.request.urgent && a.decision_reason.find("urgency") != std::string::npos
                 ? deny("urgency_deadline_passed",
                        "urgent request " + a.id + " was not granted in time")
                 : deny("authority_expired", "authority " + a.id + " has expired");
    case AuthorityState::kRequested:
      if (!a.request.urgent) {
        return deny("authority_not_granted", "authority " + a.id + " awaits an authoriser");
      }
      if (a.urgency_deadline && now > *a.urgency_deadline) {
        return deny("urgency_deadline_passed", "urgent request " + a.id + " is overdue");
      }
      break;
    case AuthorityState::kGranted:
      break;
  }
  if (actor.name == a.decided_by || actor.name == a.imported_by) {
    return deny("authoriser_cannot_search",
                "who granted or imported an authority cannot search under it");
  }
  if (now < a.request.scope.not_before) {
    return deny("authority_not_yet_valid", "authority " + a.id + " is not yet valid");
  }
  if (now > a.request.scope.not_after) {
    return deny("authority_expired", "authority " + a.id + " has expired");
  }
  if (galleries.empty()) {
    return deny("galleries_required", "a search names its galleries explicitly");
  }
  for (const std::string& g : galleries) {
    if (IsWildcard(g)) {
      return deny("gallery_wildcard_refused", "galleries are named one by one, never by pattern");
    }
    ABIS_ASSIGN_OR_RETURN(std::optional<GalleryRecord> gallery, LoadGallery(g));
    if (!gallery) return deny("gallery_not_registered", "gallery '" + g + "' is not registered");
    const auto& scope = a.request.scope.galleries;
    if (std::find(scope.begin(), scope.end(), g) == scope.end()) {
      return deny("authority_scope_gallery",
                  "gallery '" + g + "' is outside the scope of authority " + a.id);
    }
  }
  if (case_id != a.request.scope.case_id) {
    return deny("authority_scope_case",
                "authority " + a.id + " covers case '" + a.request.scope.case_id + "' only");
  }
  return Status::Ok();
}

Result<SearchTicket> Governance::CheckSearch(const Actor& actor,
                                             const SearchCheckRequest& request) {
  std::lock_guard lock(mutex_);
  Impl& s = *impl_;
  const std::string action = "gov.search.authorise";
  std::vector<std::string> ids = {request.authority_id, request.case_id};
  ids.insert(ids.end(), request.galleries.begin(), request.galleries.end());
  auto refuse = [&](Status refusal) { return s.Refuse(actor, action, ids, std::move(refusal)); };

  ABIS_ASSIGN_OR_RETURN(Suspension suspension, s.CurrentSuspension());
  if (suspension.active) {
    return refuse(
        Refusal(StatusCode::kUnavailable, "identification_suspended",
                "identification is suspended (" + suspension.id + "): " + suspension.reason));
  }
  if (actor.role != ActorRole::kOperator && actor.role != ActorRole::kSupervisor) {
    return refuse(Refusal(StatusCode::kPermissionDenied, "role_cannot_search",
                          "only operators and supervisors search"));
  }
  if (request.authority_id.empty()) {
    return refuse(Refusal(StatusCode::kPermissionDenied, "authority_missing",
                          "every 1:N search names an authority"));
  }
  ABIS_ASSIGN_OR_RETURN(std::vector<std::string> expired, s.ProcessDeadlines());
  (void)expired;
  ABIS_ASSIGN_OR_RETURN(std::optional<Authority> authority, s.LoadAuthority(request.authority_id));
  if (!authority) {
    return refuse(Refusal(StatusCode::kPermissionDenied, "authority_unknown",
                          "no authority '" + request.authority_id + "'"));
  }
  Authority& a = *authority;
  Status scope = s.CheckAuthorityScope(actor, a, request.galleries, request.case_id);
  if (!scope.ok()) return refuse(scope);
  const auto& modalities = a.request.scope.modalities;
  if (std::find(modalities.begin(), modalities.end(), request.modality) == modalities.end()) {
    return refuse(Refusal(StatusCode::kPermissionDenied, "authority_scope_modality",
                          std::string(ModalityName(request.modality)) +
                              " is outside the scope of authority " + a.id));
  }
  if (request.max_candidates < 2 || request.max_candidates > 50) {
    return refuse(Refusal(StatusCode::kInvalidArgument, "max_candidates_out_of_range",
                          "candidate lists hold 2..50 candidates (default 20)"));
  }
  if (!IsLowerHex64(request.probe_sha256)) {
    return refuse(Refusal(StatusCode::kInvalidArgument, "probe_hash_required",
                          "probe_sha256 is 64 lower-case hex digits"));
  }
  if (!std::isfinite(request.probe_quality) || request.probe_quality < 0 ||
      request.probe_quality > 100) {
    return refuse(
        Refusal(StatusCode::kInvalidArgument, "bad_probe_quality", "probe_quality is 0..100"));
  }
  std::optional<QualityOverride> quality_override;
  if (request.probe_quality < s.options.probe_quality_floor) {
    if (!request.quality_override_id.empty()) {
      ABIS_ASSIGN_OR_RETURN(
          quality_override,
          s.Load<QualityOverride>(kKindOverride, request.quality_override_id, OverrideFromJson));
    }
    if (!quality_override || quality_override->used ||
        quality_override->probe_sha256 != request.probe_sha256 ||
        quality_override->authority_id != a.id) {
      return refuse(Refusal(StatusCode::kFailedPrecondition, "probe_quality_below_floor",
                            "probe quality " + std::to_string(request.probe_quality) +
                                " is below the floor " +
                                std::to_string(s.options.probe_quality_floor) +
                                "; an examiner may override it with a written reason"));
    }
  }
  if (a.searches_used >= a.request.scope.max_searches) {
    return refuse(Refusal(StatusCode::kPermissionDenied, "authority_quota_exhausted",
                          "authority " + a.id + " allows " +
                              std::to_string(a.request.scope.max_searches) + " searches"));
  }

  SearchRecord r;
  r.view.id = NewId("srch");
  r.view.authority_id = a.id;
  r.view.case_id = request.case_id;
  r.view.purpose = a.request.scope.purpose;
  r.view.operator_name = actor.name;
  r.view.galleries = request.galleries;
  r.view.modality = request.modality;
  r.view.state = SearchState::kAuthorised;
  r.view.max_candidates = request.max_candidates;
  r.view.probe_sha256 = request.probe_sha256;
  r.view.probe_quality = request.probe_quality;
  r.view.quality_override_id = quality_override ? quality_override->id : "";
  r.view.created_at = s.Now();
  r.view.marking = kLeadMarking;
  r.urgent = a.state == AuthorityState::kRequested;
  SearchTicket ticket;
  ABIS_RETURN_IF_ERROR(InTransaction(*s.db, [&]() -> Status {
    ABIS_ASSIGN_OR_RETURN(r.seal_id, s.db->NextCounter("seal"));
    a.searches_used += 1;
    std::vector<std::string> event_ids = {r.view.id, a.id, request.case_id};
    event_ids.insert(event_ids.end(), request.galleries.begin(), request.galleries.end());
    ABIS_ASSIGN_OR_RETURN(
        std::uint64_t seq,
        s.Audit(actor, action, event_ids,
                "purpose=" + std::string(PurposeCategoryName(a.request.scope.purpose)) +
                    " urgent=" + (r.urgent ? "1" : "0") +
                    " search_number=" + std::to_string(a.searches_used) +
                    " quality_override=" + (quality_override ? quality_override->id : "none"),
                {{"probe_sha256", request.probe_sha256}}));
    r.audit_seqs.push_back(seq);
    if (quality_override) {
      quality_override->used = true;
      ABIS_RETURN_IF_ERROR(s.Store(kKindOverride, quality_override->id, ToJson(*quality_override)));
    }
    ABIS_RETURN_IF_ERROR(s.Store(kKindAuthority, a.id, ToJson(a)));
    return s.Store(kKindSearch, r.view.id, ToJson(r));
  }));
  ticket.search_id = r.view.id;
  ticket.authority_id = a.id;
  ticket.galleries = request.galleries;
  ticket.max_candidates = request.max_candidates;
  ticket.search_number = a.searches_used;
  return ticket;
}

Result<QualityOverride> Governance::OverrideQualityGate(const Actor& actor,
                                                        const QualityOverrideRequest& request) {
  std::lock_guard lock(mutex_);
  Impl& s = *impl_;
  const std::string action = "gov.quality.override";
  auto refuse = [&](StatusCode code, const char* reason, const std::string& detail) {
    return s.Refuse(actor, action, {request.authority_id}, Refusal(code, reason, detail));
  };
  if (actor.role != ActorRole::kReviewer) {
    return refuse(StatusCode::kPermissionDenied, "role_cannot_override_quality",
                  "only an examiner (reviewer) overrides the quality gate");
  }
  if (!IsValidReasonText(request.reason)) {
    return refuse(StatusCode::kInvalidArgument, "reason_required",
                  "an override needs a written reason");
  }
  if (!IsLowerHex64(request.probe_sha256)) {
    return refuse(StatusCode::kInvalidArgument, "probe_hash_required",
                  "probe_sha256 is 64 lower-case hex digits");
  }
  ABIS_ASSIGN_OR_RETURN(std::optional<Authority> a, s.LoadAuthority(request.authority_id));
  if (!a) {
    return refuse(StatusCode::kPermissionDenied, "authority_unknown",
                  "no authority '" + request.authority_id + "'");
  }
  QualityOverride o;
  o.id = NewId("qovr");
  o.examiner = actor.name;
  o.authority_id = request.authority_id;
  o.probe_sha256 = request.probe_sha256;
  o.probe_quality = request.probe_quality;
  o.reason = request.reason;
  o.created_at = s.Now();
  ABIS_RETURN_IF_ERROR(InTransaction(*s.db, [&]() -> Status {
    ABIS_RETURN_IF_ERROR(s.Audit(actor, action, {o.id, o.authority_id},
                                 "quality=" + std::to_string(o.probe_quality) +
                                     " floor=" + std::to_string(s.options.probe_quality_floor) +
                                     " reason=" + o.reason,
                                 {{"probe_sha256", o.probe_sha256}})
                             .status());
    return s.Store(kKindOverride, o.id, ToJson(o));
  }));
  return o;
}

Status Governance::CheckConsultation(const Actor& actor, const ConsultationRequest& request) {
  std::lock_guard lock(mutex_);
  Impl& s = *impl_;
  const std::string action = "gov.gallery.consult";
  std::vector<std::string> ids = {request.authority_id, request.case_id, request.gallery};
  if (actor.role != ActorRole::kOperator && actor.role != ActorRole::kSupervisor &&
      actor.role != ActorRole::kReviewer) {
    return s.Refuse(actor, action, ids,
                    Refusal(StatusCode::kPermissionDenied, "role_cannot_consult",
                            "only operators, supervisors and reviewers consult galleries"));
  }
  if (request.authority_id.empty()) {
    return s.Refuse(actor, action, ids,
                    Refusal(StatusCode::kPermissionDenied, "authority_missing",
                            "every gallery consultation names an authority"));
  }
  ABIS_ASSIGN_OR_RETURN(std::vector<std::string> expired, s.ProcessDeadlines());
  (void)expired;
  ABIS_ASSIGN_OR_RETURN(std::optional<Authority> a, s.LoadAuthority(request.authority_id));
  if (!a) {
    return s.Refuse(actor, action, ids,
                    Refusal(StatusCode::kPermissionDenied, "authority_unknown",
                            "no authority '" + request.authority_id + "'"));
  }
  Status scope = s.CheckAuthorityScope(actor, *a, {request.gallery}, request.case_id);
  if (!scope.ok()) return s.Refuse(actor, action, ids, scope);
  return s
      .Audit(actor, action, ids,
             "purpose=" + std::string(PurposeCategoryName(a->request.scope.purpose)))
      .status();
}

Status Governance::CheckVerification(const Actor& actor, const VerificationCheckRequest& request) {
  std::lock_guard lock(mutex_);
  Impl& s = *impl_;
  const std::string action = "gov.verification.authorise";
  std::vector<std::string> ids = {request.encounter_reference, request.gallery};
  auto refuse = [&](StatusCode code, const char* reason, const std::string& detail) {
    return s.Refuse(actor, action, ids, Refusal(code, reason, detail));
  };
  if (actor.role != ActorRole::kOperator && actor.role != ActorRole::kSupervisor) {
    return refuse(StatusCode::kPermissionDenied, "role_cannot_verify",
                  "only operators and supervisors verify");
  }
  if (!IsValidIdentifier(request.encounter_reference)) {
    return refuse(StatusCode::kPermissionDenied, "encounter_reference_required",
                  "a 1:1 verification names its case or encounter reference");
  }
  const auto& bases = s.options.legal_bases;
  if (std::find(bases.begin(), bases.end(), request.legal_basis) == bases.end()) {
    return refuse(StatusCode::kPermissionDenied, "legal_basis_not_allowed",
                  "a 1:1 verification needs a legal basis on the deployment's list");
  }
  ABIS_ASSIGN_OR_RETURN(std::optional<GalleryRecord> gallery, s.LoadGallery(request.gallery));
  if (!gallery) {
    return refuse(StatusCode::kPermissionDenied, "gallery_not_registered",
                  "gallery '" + request.gallery + "' is not registered");
  }
  return s.Audit(actor, action, ids, "legal_basis=" + request.legal_basis).status();
}

}  // namespace abis::governance

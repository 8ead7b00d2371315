// JSON forms of the governance records: the stored form in governance.db and
// the shape the HTTP layer returns. Times are "YYYY-MM-DDTHH:MM:SS.mmmZ".

#include <cmath>

#include "governance/governance_internal.h"

namespace abis::governance {
namespace {

using nlohmann::json;

json Time(TimePoint time) { return FormatTime(time); }
json OptTime(const std::optional<TimePoint>& time) {
  return time ? json(FormatTime(*time)) : json(nullptr);
}
json OptDouble(const std::optional<double>& value) { return value ? json(*value) : json(nullptr); }

// Reading helpers: throw nlohmann exceptions, translated once per record.
struct BadField {
  std::string message;
  std::string reason;  // Stable refusal reason, when the parser gave one.
};

// A BadField from a refusal, keeping its reason and dropping the "[reason] ".
BadField FromRefusal(const Status& status) {
  std::string reason = GovernanceReason(status);
  std::string message = status.message();
  if (!reason.empty() && message.size() > reason.size() + 3) {
    message = message.substr(reason.size() + 3);
  }
  return BadField{message, reason};
}

TimePoint ReadTime(const json& j, const char* key) {
  Result<TimePoint> time = ParseTime(j.at(key).get<std::string>());
  if (!time.ok()) throw BadField{std::string(key) + ": bad UTC time", "bad_time"};
  return *time;
}
std::optional<TimePoint> ReadOptTime(const json& j, const char* key) {
  if (!j.contains(key) || j.at(key).is_null()) return std::nullopt;
  return ReadTime(j, key);
}
std::optional<double> ReadOptDouble(const json& j, const char* key) {
  if (!j.contains(key) || j.at(key).is_null()) return std::nullopt;
  return j.at(key).get<double>();
}
template <typename T, typename Parser>
T ReadEnum(const json& j, const char* key, Parser parse) {
  Result<T> value = parse(j.at(key).get<std::string>());
  if (!value.ok()) throw FromRefusal(value.status());
  return *value;
}

template <typename T, typename Reader>
Result<T> Guard(const char* what, Reader reader) {
  try {
    return reader();
  } catch (const json::exception& e) {
    return Refusal(StatusCode::kInvalidArgument, "malformed_request",
                   std::string("malformed ") + what + ": " + e.what());
  } catch (const BadField& e) {
    return Refusal(StatusCode::kInvalidArgument, e.reason.empty() ? "malformed_request" : e.reason,
                   std::string("malformed ") + what + ": " + e.message);
  }
}

json ModalitiesToJson(const std::vector<Modality>& modalities) {
  json out = json::array();
  for (Modality m : modalities) out.push_back(std::string(ModalityName(m)));
  return out;
}

std::vector<Modality> ReadModalities(const json& j) {
  std::vector<Modality> out;
  for (const json& name : j) {
    Result<Modality> m = ParseModality(name.get<std::string>());
    if (!m.ok()) throw BadField{"unknown modality", "unknown_modality"};
    out.push_back(*m);
  }
  return out;
}

json ReviewToJson(const ReviewRecord& review) {
  return {{"examiner", review.examiner},
          {"decision", std::string(ReviewDecisionName(review.decision))},
          {"reason", review.reason},
          {"decided_at", Time(review.decided_at)}};
}

ReviewRecord ReadReview(const json& j) {
  ReviewRecord review;
  review.examiner = j.at("examiner").get<std::string>();
  review.decision = ReadEnum<ReviewDecision>(j, "decision", ParseReviewDecision);
  review.reason = j.at("reason").get<std::string>();
  review.decided_at = ReadTime(j, "decided_at");
  return review;
}

AuthorityRequest ReadAuthorityRequest(const json& j) {
  AuthorityRequest r;
  r.kind = ReadEnum<AuthorityKind>(j, "kind", ParseAuthorityKind);
  r.reference = j.at("reference").get<std::string>();
  r.issuing_body = j.value("issuing_body", "");
  r.legal_basis = j.at("legal_basis").get<std::string>();
  r.urgent = j.value("urgent", false);
  r.justification = j.value("justification", "");
  const json& s = j.at("scope");
  r.scope.galleries = s.at("galleries").get<std::vector<std::string>>();
  r.scope.modalities = ReadModalities(s.at("modalities"));
  r.scope.purpose = ReadEnum<PurposeCategory>(s, "purpose", ParsePurposeCategory);
  r.scope.case_id = s.at("case_id").get<std::string>();
  r.scope.offence_code = s.value("offence_code", "");
  r.scope.max_penalty_years = s.value("max_penalty_years", 0);
  r.scope.not_before = ReadTime(s, "not_before");
  r.scope.not_after = ReadTime(s, "not_after");
  r.scope.max_searches = s.at("max_searches").get<int>();
  return r;
}

json AuthorityRequestToJson(const AuthorityRequest& r) {
  return {{"kind", std::string(AuthorityKindName(r.kind))},
          {"reference", r.reference},
          {"issuing_body", r.issuing_body},
          {"legal_basis", r.legal_basis},
          {"urgent", r.urgent},
          {"justification", r.justification},
          {"scope",
           {{"galleries", r.scope.galleries},
            {"modalities", ModalitiesToJson(r.scope.modalities)},
            {"purpose", std::string(PurposeCategoryName(r.scope.purpose))},
            {"case_id", r.scope.case_id},
            {"offence_code", r.scope.offence_code},
            {"max_penalty_years", r.scope.max_penalty_years},
            {"not_before", Time(r.scope.not_before)},
            {"not_after", Time(r.scope.not_after)},
            {"max_searches", r.scope.max_searches}}}};
}

}  // namespace

json ToJson(const GalleryRecord& record) {
  const GalleryRegistration& r = record.registration;
  return {{"name", r.name},
          {"legal_basis", r.legal_basis},
          {"provenance", std::string(ProvenanceName(r.provenance))},
          {"statutory_authorisation", r.statutory_authorisation},
          {"subject_category", std::string(SubjectCategoryName(r.subject_category))},
          {"original_purpose", r.original_purpose},
          {"retention_rule", r.retention_rule},
          {"review_interval_days", r.review_interval_days},
          {"owner", r.owner},
          {"registered_by", record.registered_by},
          {"registered_at", Time(record.registered_at)},
          {"next_review_at", Time(record.next_review_at)}};
}

Result<GalleryRecord> GalleryFromJson(const json& j) {
  return Guard<GalleryRecord>("gallery", [&] {
    GalleryRecord record;
    GalleryRegistration& r = record.registration;
    r.name = j.at("name").get<std::string>();
    r.legal_basis = j.at("legal_basis").get<std::string>();
    r.provenance = ReadEnum<Provenance>(j, "provenance", ParseProvenance);
    r.statutory_authorisation = j.value("statutory_authorisation", "");
    r.subject_category = ReadEnum<SubjectCategory>(j, "subject_category", ParseSubjectCategory);
    r.original_purpose = j.value("original_purpose", "");
    r.retention_rule = j.at("retention_rule").get<std::string>();
    r.review_interval_days = j.at("review_interval_days").get<int>();
    r.owner = j.at("owner").get<std::string>();
    record.registered_by = j.value("registered_by", "");
    record.registered_at = j.contains("registered_at") ? ReadTime(j, "registered_at") : TimePoint();
    record.next_review_at =
        j.contains("next_review_at") ? ReadTime(j, "next_review_at") : TimePoint();
    return record;
  });
}

json ToJson(const Authority& a) {
  json j = AuthorityRequestToJson(a.request);
  j["id"] = a.id;
  j["state"] = std::string(AuthorityStateName(a.state));
  j["requested_by"] = a.requested_by;
  j["requested_at"] = Time(a.requested_at);
  j["urgency_deadline"] = OptTime(a.urgency_deadline);
  j["decided_by"] = a.decided_by;
  j["imported_by"] = a.imported_by;
  j["decided_at"] = OptTime(a.decided_at);
  j["decision_reason"] = a.decision_reason;
  j["searches_used"] = a.searches_used;
  j["audit_seqs"] = a.audit_seqs;
  return j;
}

Result<AuthorityRequest> AuthorityRequestFromJson(const json& j) {
  return Guard<AuthorityRequest>("authority request", [&] { return ReadAuthorityRequest(j); });
}

Result<Authority> AuthorityFromJson(const json& j) {
  return Guard<Authority>("authority", [&] {
    Authority a;
    a.request = ReadAuthorityRequest(j);
    a.id = j.at("id").get<std::string>();
    a.state = ReadEnum<AuthorityState>(j, "state", ParseAuthorityState);
    a.requested_by = j.at("requested_by").get<std::string>();
    a.requested_at = ReadTime(j, "requested_at");
    a.urgency_deadline = ReadOptTime(j, "urgency_deadline");
    a.decided_by = j.at("decided_by").get<std::string>();
    a.imported_by = j.at("imported_by").get<std::string>();
    a.decided_at = ReadOptTime(j, "decided_at");
    a.decision_reason = j.at("decision_reason").get<std::string>();
    a.searches_used = j.at("searches_used").get<int>();
    a.audit_seqs = j.at("audit_seqs").get<std::vector<std::uint64_t>>();
    return a;
  });
}

json ToJson(const CandidateView& c) {
  json reviews = json::array();
  for (const ReviewRecord& r : c.reviews) reviews.push_back(ReviewToJson(r));
  return {{"rank", c.rank},
          {"gallery", c.gallery},
          {"identity", c.identity},
          {"reference_id", c.reference_id},
          {"score", c.score},
          {"fmr", OptDouble(c.fmr)},
          {"fmr_is_upper_bound", c.fmr_is_upper_bound},
          {"expected_false_candidates", OptDouble(c.expected_false_candidates)},
          {"state", std::string(CandidateStateName(c.state))},
          {"reviews", reviews}};
}

json ToJson(const SearchView& v) {
  json candidates = json::array();
  for (const CandidateView& c : v.candidates) candidates.push_back(ToJson(c));
  return {{"id", v.id},
          {"authority_id", v.authority_id},
          {"case_id", v.case_id},
          {"purpose", std::string(PurposeCategoryName(v.purpose))},
          {"operator", v.operator_name},
          {"galleries", v.galleries},
          {"modality", std::string(ModalityName(v.modality))},
          {"state", std::string(SearchStateName(v.state))},
          {"max_candidates", v.max_candidates},
          {"probe_sha256", v.probe_sha256},
          {"probe_quality", v.probe_quality},
          {"quality_override_id", v.quality_override_id},
          {"algorithm", v.algorithm},
          {"model_digest", v.model_digest},
          {"gallery_identities", v.gallery_identities},
          {"created_at", Time(v.created_at)},
          {"completed_at", OptTime(v.completed_at)},
          {"retention_until", OptTime(v.retention_until)},
          {"erased_at", OptTime(v.erased_at)},
          {"stop_reason", v.stop_reason},
          {"candidate_count", v.candidate_count},
          {"candidates", candidates},
          {"results_withheld", v.results_withheld},
          {"marking", v.marking}};
}

json ToJson(const SearchRecord& r) {
  json j = ToJson(r.view);
  j.erase("candidates");
  j["seal_id"] = r.seal_id;
  j["sealed"] = r.sealed;
  json states = json::array();
  for (CandidateState s : r.states) states.push_back(std::string(CandidateStateName(s)));
  j["states"] = states;
  json reviews = json::array();
  for (const auto& list : r.reviews) {
    json one = json::array();
    for (const ReviewRecord& review : list) one.push_back(ReviewToJson(review));
    reviews.push_back(one);
  }
  j["reviews"] = reviews;
  json opened = json::object();
  for (const auto& [examiner, ranks] : r.opened) opened[examiner] = ranks;
  j["opened"] = opened;
  j["open_disputes"] = r.open_disputes;
  j["audit_seqs"] = r.audit_seqs;
  j["urgent"] = r.urgent;
  return j;
}

Result<SearchRecord> SearchFromJson(const json& j) {
  return Guard<SearchRecord>("search", [&] {
    SearchRecord r;
    SearchView& v = r.view;
    v.id = j.at("id").get<std::string>();
    v.authority_id = j.at("authority_id").get<std::string>();
    v.case_id = j.at("case_id").get<std::string>();
    v.purpose = ReadEnum<PurposeCategory>(j, "purpose", ParsePurposeCategory);
    v.operator_name = j.at("operator").get<std::string>();
    v.galleries = j.at("galleries").get<std::vector<std::string>>();
    Result<Modality> modality = ParseModality(j.at("modality").get<std::string>());
    if (!modality.ok()) throw BadField{"modality"};
    v.modality = *modality;
    v.state = ReadEnum<SearchState>(j, "state", ParseSearchState);
    v.max_candidates = j.at("max_candidates").get<int>();
    v.probe_sha256 = j.at("probe_sha256").get<std::string>();
    v.probe_quality = j.at("probe_quality").get<double>();
    v.quality_override_id = j.at("quality_override_id").get<std::string>();
    v.algorithm = j.at("algorithm").get<std::string>();
    v.model_digest = j.at("model_digest").get<std::string>();
    v.gallery_identities = j.at("gallery_identities").get<std::int64_t>();
    v.created_at = ReadTime(j, "created_at");
    v.completed_at = ReadOptTime(j, "completed_at");
    v.retention_until = ReadOptTime(j, "retention_until");
    v.erased_at = ReadOptTime(j, "erased_at");
    v.stop_reason = j.at("stop_reason").get<std::string>();
    v.candidate_count = j.at("candidate_count").get<int>();
    v.results_withheld = j.at("results_withheld").get<bool>();
    v.marking = j.at("marking").get<std::string>();
    r.seal_id = j.at("seal_id").get<std::int64_t>();
    r.sealed = j.at("sealed").get<bool>();
    for (const json& s : j.at("states")) {
      Result<CandidateState> state = ParseCandidateState(s.get<std::string>());
      if (!state.ok()) throw BadField{"candidate state"};
      r.states.push_back(*state);
    }
    for (const json& list : j.at("reviews")) {
      std::vector<ReviewRecord> one;
      for (const json& review : list) one.push_back(ReadReview(review));
      r.reviews.push_back(std::move(one));
    }
    for (const auto& [examiner, ranks] : j.at("opened").items()) {
      r.opened[examiner] = ranks.get<std::set<int>>();
    }
    r.open_disputes = j.at("open_disputes").get<std::set<std::string>>();
    r.audit_seqs = j.at("audit_seqs").get<std::vector<std::uint64_t>>();
    r.urgent = j.at("urgent").get<bool>();
    return r;
  });
}

json ToJson(const CandidateInput& c) {
  return {{"gallery", c.gallery},
          {"identity", c.identity},
          {"reference_id", c.reference_id},
          {"score", c.score},
          {"fmr", OptDouble(c.fmr)},
          {"fmr_is_upper_bound", c.fmr_is_upper_bound},
          {"expected_false_candidates", OptDouble(c.expected_false_candidates)}};
}

Result<CandidateInput> CandidateInputFromJson(const json& j) {
  return Guard<CandidateInput>("candidate", [&] {
    CandidateInput c;
    c.gallery = j.at("gallery").get<std::string>();
    c.identity = j.at("identity").get<std::string>();
    c.reference_id = j.at("reference_id").get<std::int64_t>();
    c.score = j.at("score").get<double>();
    c.fmr = ReadOptDouble(j, "fmr");
    c.fmr_is_upper_bound = j.at("fmr_is_upper_bound").get<bool>();
    c.expected_false_candidates = ReadOptDouble(j, "expected_false_candidates");
    return c;
  });
}

json ToJson(const QualityOverride& o) {
  return {{"id", o.id},
          {"examiner", o.examiner},
          {"authority_id", o.authority_id},
          {"probe_sha256", o.probe_sha256},
          {"probe_quality", o.probe_quality},
          {"reason", o.reason},
          {"created_at", Time(o.created_at)},
          {"used", o.used}};
}

Result<QualityOverride> OverrideFromJson(const json& j) {
  return Guard<QualityOverride>("quality override", [&] {
    QualityOverride o;
    o.id = j.at("id").get<std::string>();
    o.examiner = j.at("examiner").get<std::string>();
    o.authority_id = j.at("authority_id").get<std::string>();
    o.probe_sha256 = j.at("probe_sha256").get<std::string>();
    o.probe_quality = j.at("probe_quality").get<double>();
    o.reason = j.at("reason").get<std::string>();
    o.created_at = ReadTime(j, "created_at");
    o.used = j.at("used").get<bool>();
    return o;
  });
}

json ToJson(const Dispute& d) {
  json reviews = json::array();
  for (const DisputeReview& r : d.reviews) {
    reviews.push_back({{"examiner", r.examiner},
                       {"vote", std::string(DisputeVoteName(r.vote))},
                       {"reason", r.reason},
                       {"decided_at", Time(r.decided_at)}});
  }
  return {{"id", d.id},
          {"search_id", d.request.search_id},
          {"rank", d.request.rank ? json(*d.request.rank) : json(nullptr)},
          {"filed_on_behalf_of", d.request.filed_on_behalf_of},
          {"grounds", d.request.grounds},
          {"remedy_sought", std::string(DisputeRemedyName(d.request.remedy_sought))},
          {"state", std::string(DisputeStateName(d.state))},
          {"opened_by", d.opened_by},
          {"opened_at", Time(d.opened_at)},
          {"reviews", reviews},
          {"decided_at", OptTime(d.decided_at)},
          {"notify_recipients", d.notify_recipients}};
}

Result<Dispute> DisputeFromJson(const json& j) {
  return Guard<Dispute>("dispute", [&] {
    Dispute d;
    d.id = j.at("id").get<std::string>();
    d.request.search_id = j.at("search_id").get<std::string>();
    if (!j.at("rank").is_null()) d.request.rank = j.at("rank").get<int>();
    d.request.filed_on_behalf_of = j.at("filed_on_behalf_of").get<std::string>();
    d.request.grounds = j.at("grounds").get<std::string>();
    d.request.remedy_sought = ReadEnum<DisputeRemedy>(j, "remedy_sought", ParseDisputeRemedy);
    d.state = ReadEnum<DisputeState>(j, "state", ParseDisputeState);
    d.opened_by = j.at("opened_by").get<std::string>();
    d.opened_at = ReadTime(j, "opened_at");
    for (const json& r : j.at("reviews")) {
      DisputeReview review;
      review.examiner = r.at("examiner").get<std::string>();
      review.vote = ReadEnum<DisputeVote>(r, "vote", ParseDisputeVote);
      review.reason = r.at("reason").get<std::string>();
      review.decided_at = ReadTime(r, "decided_at");
      d.reviews.push_back(review);
    }
    d.decided_at = ReadOptTime(j, "decided_at");
    d.notify_recipients = j.at("notify_recipients").get<std::vector<std::string>>();
    return d;
  });
}

json ToJson(const ErasureRecord& e) {
  return {{"object_id", e.object_id},       {"what", e.what},           {"rule", e.rule},
          {"erased_at", Time(e.erased_at)}, {"erased_by", e.erased_by}, {"audit_seq", e.audit_seq}};
}

Result<ErasureRecord> ErasureFromJson(const json& j) {
  return Guard<ErasureRecord>("erasure", [&] {
    ErasureRecord e;
    e.object_id = j.at("object_id").get<std::string>();
    e.what = j.at("what").get<std::string>();
    e.rule = j.at("rule").get<std::string>();
    e.erased_at = ReadTime(j, "erased_at");
    e.erased_by = j.at("erased_by").get<std::string>();
    e.audit_seq = j.at("audit_seq").get<std::uint64_t>();
    return e;
  });
}

json ToJson(const DisclosureRecord& d) {
  return {{"id", d.id},
          {"search_id", d.search_id},
          {"recipient", d.recipient},
          {"exported_by", d.exported_by},
          {"package_sha256", d.package_sha256},
          {"exported_at", Time(d.exported_at)}};
}

Result<DisclosureRecord> DisclosureFromJson(const json& j) {
  return Guard<DisclosureRecord>("disclosure", [&] {
    DisclosureRecord d;
    d.id = j.at("id").get<std::string>();
    d.search_id = j.at("search_id").get<std::string>();
    d.recipient = j.at("recipient").get<std::string>();
    d.exported_by = j.at("exported_by").get<std::string>();
    d.package_sha256 = j.at("package_sha256").get<std::string>();
    d.exported_at = ReadTime(j, "exported_at");
    return d;
  });
}

json ToJson(const Suspension& s) {
  return {{"active", s.active},
          {"id", s.id},
          {"reason", s.reason},
          {"set_by", s.set_by},
          {"since", OptTime(s.since)}};
}

Result<Suspension> SuspensionFromJson(const json& j) {
  return Guard<Suspension>("suspension", [&] {
    Suspension s;
    s.active = j.at("active").get<bool>();
    s.id = j.at("id").get<std::string>();
    s.reason = j.at("reason").get<std::string>();
    s.set_by = j.at("set_by").get<std::string>();
    s.since = ReadOptTime(j, "since");
    return s;
  });
}

Result<GalleryRegistration> GalleryRegistrationFromJson(const json& j) {
  if (!j.is_object()) return InvalidArgumentError("gallery registration must be a JSON object");
  ABIS_ASSIGN_OR_RETURN(GalleryRecord record, GalleryFromJson(j));
  return record.registration;
}

Result<ReviewRequest> ReviewRequestFromJson(const std::string& search_id, const json& j) {
  return Guard<ReviewRequest>("review", [&] {
    ReviewRequest r;
    r.search_id = search_id;
    r.rank = j.at("rank").get<int>();
    r.decision = ReadEnum<ReviewDecision>(j, "decision", ParseReviewDecision);
    r.reason = j.value("reason", "");
    return r;
  });
}

Result<DisputeRequest> DisputeRequestFromJson(const json& j) {
  return Guard<DisputeRequest>("dispute", [&] {
    DisputeRequest r;
    r.search_id = j.at("search_id").get<std::string>();
    if (j.contains("rank") && !j.at("rank").is_null()) r.rank = j.at("rank").get<int>();
    r.filed_on_behalf_of = j.at("filed_on_behalf_of").get<std::string>();
    r.grounds = j.at("grounds").get<std::string>();
    if (j.contains("remedy_sought")) {
      r.remedy_sought = ReadEnum<DisputeRemedy>(j, "remedy_sought", ParseDisputeRemedy);
    }
    return r;
  });
}

Result<DisputeReviewRequest> DisputeReviewRequestFromJson(const std::string& dispute_id,
                                                          const json& j) {
  return Guard<DisputeReviewRequest>("dispute review", [&] {
    DisputeReviewRequest r;
    r.dispute_id = dispute_id;
    r.vote = ReadEnum<DisputeVote>(j, "vote", ParseDisputeVote);
    r.reason = j.value("reason", "");
    return r;
  });
}

Result<DisclosureRequest> DisclosureRequestFromJson(const json& j) {
  return Guard<DisclosureRequest>("disclosure request", [&] {
    DisclosureRequest r;
    r.search_id = j.at("search_id").get<std::string>();
    r.recipient = j.value("recipient", "");
    r.purpose = j.value("purpose", "");
    r.include_probe_image = j.value("include_probe_image", false);
    return r;
  });
}

Result<QualityOverrideRequest> QualityOverrideRequestFromJson(const json& j) {
  return Guard<QualityOverrideRequest>("quality override", [&] {
    QualityOverrideRequest r;
    r.authority_id = j.at("authority_id").get<std::string>();
    r.probe_sha256 = j.at("probe_sha256").get<std::string>();
    r.probe_quality = j.at("probe_quality").get<double>();
    r.reason = j.value("reason", "");
    return r;
  });
}

json ToJson(const SearchTicket& t) {
  return {{"search_id", t.search_id},
          {"authority_id", t.authority_id},
          {"galleries", t.galleries},
          {"max_candidates", t.max_candidates},
          {"search_number", t.search_number}};
}

json ToJson(const PurgeReport& report) {
  json erased = json::array();
  for (const ErasureRecord& e : report.erased) erased.push_back(ToJson(e));
  json reviews = json::array();
  for (const GalleryReviewDue& g : report.gallery_reviews_due) {
    reviews.push_back({{"gallery", g.gallery}, {"due_at", Time(g.due_at)}});
  }
  return {{"run_at", Time(report.run_at)},
          {"run_by", report.run_by},
          {"erased", erased},
          {"authorities_expired", report.authorities_expired},
          {"gallery_reviews_due", reviews}};
}

json RefusalDetails(const Status& status) {
  std::string reason = GovernanceReason(status);
  if (reason.empty()) return json::object();
  json details = {{"reason", reason}};
  std::string code = ProposedErrorCode(reason);
  if (!code.empty()) details["error_code"] = code;
  return details;
}

}  // namespace abis::governance

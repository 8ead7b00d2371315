#include "governance/transparency.h"

#include <map>
#include <sstream>

#include "governance/governance_types.h"

namespace abis::governance {
namespace {

// "k=v k=v ... reason=free text": the key/value tokens before "reason=".
std::map<std::string, std::string> DetailFields(const std::string& details) {
  std::map<std::string, std::string> fields;
  std::istringstream in(details);
  std::string token;
  while (in >> token) {
    std::size_t eq = token.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    std::string key = token.substr(0, eq);
    if (key == "reason") break;
    fields[key] = token.substr(eq + 1);
  }
  return fields;
}

std::string Escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

nlohmann::json MakeTransparencyJson(const std::vector<AuditEvent>& events,
                                    const std::string& generated_at) {
  using nlohmann::json;
  json authorities = {{"requested", 0}, {"issued", 0},  {"imported", 0}, {"granted", 0},
                      {"rejected", 0},  {"expired", 0}, {"revoked", 0}};
  json urgency = {{"requests", 0},
                  {"granted", 0},
                  {"rejected", 0},
                  {"expired_without_grant", 0},
                  {"searches_purged", 0}};
  json searches = {{"authorised", 0}, {"refused", 0},   {"stopped", 0},
                   {"matched", 0},    {"unmatched", 0}, {"quality_overrides", 0}};
  json by_purpose = json::object();
  for (PurposeCategory p : AllPurposeCategories()) by_purpose[PurposeCategoryName(p)] = 0;
  json reviews = {{"confirmations", 0}, {"exclusions", 0}};
  json disputes = {{"opened", 0}, {"upheld", 0}, {"rejected", 0}};
  json retention = {{"erasures", 0}, {"by_rule", json::object()}};
  json disclosures = {{"exported", 0}, {"refused", 0}};
  json suspensions = {{"suspended", 0}, {"resumed", 0}};
  std::map<std::string, bool> urgent_authority;  // Authority id -> urgent request.

  auto inc = [](json& counter) { counter = counter.get<long long>() + 1; };
  std::uint64_t covered = 0;
  for (const AuditEvent& e : events) {
    ++covered;
    if (e.action.rfind("gov.", 0) != 0) continue;
    const bool ok = e.result == "ok";
    std::map<std::string, std::string> f = DetailFields(e.details);
    const std::string first_id = e.object_ids.empty() ? "" : e.object_ids[0];
    if (e.action == "gov.authority.request" && ok) {
      inc(authorities["requested"]);
      if (f["urgent"] == "1") {
        inc(urgency["requests"]);
        urgent_authority[first_id] = true;
      }
    } else if (e.action == "gov.authority.issue" && ok) {
      inc(authorities["issued"]);
    } else if (e.action == "gov.authority.import" && ok) {
      inc(authorities["imported"]);
    } else if (e.action == "gov.authority.grant" && ok) {
      inc(authorities["granted"]);
      if (urgent_authority.count(first_id)) inc(urgency["granted"]);
    } else if (e.action == "gov.authority.reject" && ok) {
      inc(authorities["rejected"]);
      if (urgent_authority.count(first_id)) inc(urgency["rejected"]);
    } else if (e.action == "gov.authority.expire" && ok) {
      inc(authorities["expired"]);
      if (f["cause"] == "urgency_deadline") inc(urgency["expired_without_grant"]);
    } else if (e.action == "gov.authority.revoke" && ok) {
      inc(authorities["revoked"]);
    } else if (e.action == "gov.search.authorise") {
      if (ok) {
        inc(searches["authorised"]);
        if (by_purpose.contains(f["purpose"])) inc(by_purpose[f["purpose"]]);
        if (f["quality_override"] != "none" && !f["quality_override"].empty()) {
          inc(searches["quality_overrides"]);
        }
      } else {
        inc(searches["refused"]);
      }
    } else if (e.action == "gov.search.purge" && ok) {
      if (f["rule"] == "urgency_deadline_passed" || f["rule"] == "authority_rejected") {
        inc(urgency["searches_purged"]);
      }
    } else if (e.action == "gov.search.stop" && ok) {
      inc(searches["stopped"]);
    } else if (e.action == "gov.search.close" && ok) {
      inc(searches[f["outcome"] == "matched" ? "matched" : "unmatched"]);
    } else if (e.action == "gov.search.result" && ok && f["candidates"] == "0") {
      inc(searches["unmatched"]);
    } else if (e.action == "gov.candidate.confirm" && ok) {
      inc(reviews["confirmations"]);
    } else if (e.action == "gov.candidate.exclude" && ok) {
      inc(reviews["exclusions"]);
    } else if (e.action == "gov.dispute.open" && ok) {
      inc(disputes["opened"]);
    } else if (e.action == "gov.dispute.decide" && ok) {
      inc(disputes[f["outcome"] == "upheld" ? "upheld" : "rejected"]);
    } else if (e.action == "gov.erase" && ok) {
      inc(retention["erasures"]);
      json& by_rule = retention["by_rule"];
      if (!by_rule.contains(f["rule"])) by_rule[f["rule"]] = 0;
      inc(by_rule[f["rule"]]);
    } else if (e.action == "gov.disclosure.export") {
      inc(disclosures[ok ? "exported" : "refused"]);
    } else if (e.action == "gov.suspension.set" && ok) {
      inc(suspensions["suspended"]);
    } else if (e.action == "gov.suspension.lift" && ok) {
      inc(suspensions["resumed"]);
    }
  }
  return {{"format", "abis-transparency-report/1"},
          {"generated_at", generated_at},
          {"audit_events_covered", covered},
          {"authorities", authorities},
          {"urgency", urgency},
          {"searches", searches},
          {"searches_by_purpose", by_purpose},
          {"reviews", reviews},
          {"disputes", disputes},
          {"retention", retention},
          {"disclosures", disclosures},
          {"suspensions", suspensions}};
}

std::string RenderTransparencyHtml(const nlohmann::json& report) {
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       << "<title>abis transparency report</title>"
       << "<style>body{font-family:sans-serif;max-width:48em;margin:2em auto}"
       << "table{border-collapse:collapse;margin-bottom:1.5em}"
       << "td,th{border:1px solid #999;padding:.2em .6em;text-align:left}"
       << "td.n{text-align:right}</style></head><body>\n"
       << "<h1>Transparency report</h1>\n<p>Generated " << Escape(report.value("generated_at", ""))
       << " from " << report.value("audit_events_covered", 0) << " audit-log events.</p>\n";
  for (const auto& [section, values] : report.items()) {
    if (!values.is_object()) continue;
    html << "<h2>" << Escape(section) << "</h2>\n<table>\n";
    for (const auto& [key, value] : values.items()) {
      if (value.is_object()) {
        for (const auto& [sub, count] : value.items()) {
          html << "<tr><th>" << Escape(key + " / " + sub) << "</th><td class=\"n\">" << count.dump()
               << "</td></tr>\n";
        }
      } else {
        html << "<tr><th>" << Escape(key) << "</th><td class=\"n\">" << value.dump()
             << "</td></tr>\n";
      }
    }
    html << "</table>\n";
  }
  html << "</body></html>\n";
  return html.str();
}

}  // namespace abis::governance

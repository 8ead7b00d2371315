// transparency.h
//
// The public transparency report (F-28), computed only from audit events so
// anyone holding the verified log can recompute it: authorities requested,
// issued, imported, granted, rejected, expired and revoked; urgency uses and
// their outcomes; searches by purpose category; confirmations, exclusions,
// STOPs; disputes and outcomes; retention erasures; disclosures; suspensions.
// It carries counts only, never ids, names or case numbers.
//
// Thread safety: pure functions.

#ifndef ABIS_GOVERNANCE_TRANSPARENCY_H_
#define ABIS_GOVERNANCE_TRANSPARENCY_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/audit_event.h"

namespace abis::governance {

// Counts over `events` (those with action "gov.*"). `generated_at` is a
// UTC time string; `log_size` is the number of events the report covers.
nlohmann::json MakeTransparencyJson(const std::vector<AuditEvent>& events,
                                    const std::string& generated_at);

// A small self-contained HTML page (no scripts, no external resources)
// rendering the JSON report.
std::string RenderTransparencyHtml(const nlohmann::json& report);

}  // namespace abis::governance

#endif  // ABIS_GOVERNANCE_TRANSPARENCY_H_

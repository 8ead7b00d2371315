// /v1/devices: capture devices are principals that authenticate with a
// client certificate (mTLS). An admin registers a device and gets its
// certificate from the server's device CA (with a new key shown once, or
// for a posted CSR), or registers a certificate from the deployment's own
// CA (--client-ca) by its fingerprint. Revoking a device refuses its
// certificate from its next request on.

#include "server/json_codec.h"
#include "server/routes/routes.h"
#include "server/tls.h"

namespace abis::server {
namespace {

nlohmann::json DeviceToJson(const DeviceInfo& device) {
  return {{"id", device.id},
          {"name", device.name},
          {"role", std::string(RoleName(device.principal.role))},
          {"principal_id", device.principal.id},
          {"fingerprint_sha256", device.fingerprint},
          {"created_at", device.created_at},
          {"revoked_at",
           device.revoked_at.empty() ? nlohmann::json(nullptr) : nlohmann::json(device.revoked_at)},
          {"revoked", !device.revoked_at.empty()}};
}

Result<Reply> RegisterDevice(RequestContext& request, ServerContext& server) {
  ABIS_ASSIGN_OR_RETURN(RequestFields body, ReadRequestFields(request.http));
  ABIS_ASSIGN_OR_RETURN(std::string name, RequiredString(body, "name"));
  ABIS_ASSIGN_OR_RETURN(std::optional<std::string> role_name, OptionalString(body, "role"));
  ABIS_ASSIGN_OR_RETURN(Role role, ParseRole(role_name.value_or("operator")));
  ABIS_ASSIGN_OR_RETURN(std::optional<std::string> csr, OptionalString(body, "csr"));
  ABIS_ASSIGN_OR_RETURN(std::optional<std::string> certificate,
                        OptionalString(body, "certificate"));
  if (csr && certificate) return InvalidArgumentError("give either csr or certificate, not both");
  if (!IsValidPrincipalName(name)) {
    return InvalidArgumentError("device name must be 1..64 of [A-Za-z0-9_.@-]");
  }
  request.audit.object_ids = {"device:" + name};
  request.audit.details = "role " + std::string(RoleName(role));
  DeviceCertificate issued;
  if (certificate) {
    ABIS_ASSIGN_OR_RETURN(issued.fingerprint, CertificatePemFingerprint(*certificate));
  } else {
    ABIS_ASSIGN_OR_RETURN(issued, server.device_ca().Issue(name, csr.value_or("")));
  }
  request.audit.hashes["certificate_sha256"] = issued.fingerprint;
  ABIS_RETURN_IF_ERROR(server.RecordIntent(request));
  ABIS_ASSIGN_OR_RETURN(DeviceInfo device, server.principals().RegisterDevice(
                                               name, role, issued.fingerprint, request.principal));
  request.audit.object_ids.push_back("device_id:" + std::to_string(device.id));
  request.audit.undo = [&server, id = device.id] { (void)server.principals().RevokeDevice(id); };
  nlohmann::json reply = {{"device", DeviceToJson(device)},
                          {"ca_certificate", server.device_ca().certificate_pem()}};
  if (!issued.certificate_pem.empty()) reply["certificate"] = issued.certificate_pem;
  if (!issued.private_key_pem.empty()) {
    reply["private_key"] = issued.private_key_pem;
    reply["note"] = "the private key is shown once and not kept by the server";
  }
  return Reply{201, reply};
}

Result<Reply> ListDevices(RequestContext&, ServerContext& server) {
  ABIS_ASSIGN_OR_RETURN(std::vector<DeviceInfo> devices, server.principals().ListDevices());
  nlohmann::json list = nlohmann::json::array();
  for (const DeviceInfo& device : devices) list.push_back(DeviceToJson(device));
  return Reply{200, {{"devices", list}}};
}

Result<Reply> RevokeDevice(RequestContext& request, ServerContext& server) {
  const std::string& text = request.path_params["id"];
  request.audit.object_ids = {"device_id:" + text};
  if (text.empty() || text.size() > 18 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgumentError("device id must be a decimal number");
  }
  ABIS_RETURN_IF_ERROR(server.RecordIntent(request));
  ABIS_ASSIGN_OR_RETURN(DeviceInfo device, server.principals().RevokeDevice(std::stoll(text)));
  return Reply{200, {{"device", DeviceToJson(device)}}};
}

}  // namespace

void AddDeviceRoutes(std::vector<Route>& routes) {
  routes.push_back(
      {"POST", "/v1/devices", false, {Role::kAdmin}, RegisterDevice, "device.register"});
  routes.push_back(
      {"GET", "/v1/devices", false, {Role::kAdmin, Role::kAuditor}, ListDevices, "device.list"});
  routes.push_back(
      {"DELETE", "/v1/devices/{id}", false, {Role::kAdmin}, RevokeDevice, "device.revoke"});
}

}  // namespace abis::server

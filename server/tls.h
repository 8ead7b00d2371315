// tls.h
//
// The server's X.509 material, made with the OpenSSL API:
// - a self-signed server certificate (EC P-256, SAN localhost, 127.0.0.1,
//   ::1 and the listen host) generated in DIR/tls/ on first start when no
//   --tls-cert is given, and reused afterwards;
// - a device CA (DIR/tls/device-ca.{pem,key}) that issues the client
//   certificates of capture devices, or signs a device's CSR;
// - SHA-256 fingerprints of certificates, the key the device table uses.
// Private keys are written with mode 0600.
//
// Thread safety: DeviceCa is immutable after Open and safe to share; the
// free functions are stateless.

#ifndef ABIS_SERVER_TLS_H_
#define ABIS_SERVER_TLS_H_

#include <memory>
#include <string>

#include "abis/status.h"

typedef struct ssl_st SSL;

namespace abis::server {

struct ServerCertificatePaths {
  std::string cert_path;
  std::string key_path;
  bool generated = false;  // True when this call created them.
};

// DIR/tls/server.{pem,key}: created (self-signed, 10 years, SAN for
// localhost/loopback and `host`) when missing, else reused.
Result<ServerCertificatePaths> EnsureSelfSignedServerCertificate(const std::string& data_dir,
                                                                 const std::string& host);

struct DeviceCertificate {
  std::string certificate_pem;
  std::string private_key_pem;  // Empty when the device sent a CSR (it keeps its key).
  std::string fingerprint;      // Hex SHA-256 of the certificate's DER.
};

class DeviceCa {
 public:
  // Loads DIR/tls/device-ca.{pem,key}, creating them on first start.
  static Result<std::unique_ptr<DeviceCa>> Open(const std::string& data_dir);
  ~DeviceCa();
  DeviceCa(const DeviceCa&) = delete;
  DeviceCa& operator=(const DeviceCa&) = delete;

  const std::string& certificate_path() const { return cert_path_; }
  const std::string& certificate_pem() const { return cert_pem_; }

  // A client certificate (CN = `name`, clientAuth, 2 years). With
  // `csr_pem` the CSR's public key is certified (its signature must
  // verify; its subject is ignored); otherwise a new P-256 key is made and
  // returned once. InvalidArgument for a bad CSR.
  Result<DeviceCertificate> Issue(const std::string& name, const std::string& csr_pem) const;

 private:
  DeviceCa() = default;
  struct Keys;
  std::unique_ptr<Keys> keys_;
  std::string cert_path_;
  std::string cert_pem_;
};

// Fingerprint of a PEM certificate (InvalidArgument when it does not parse).
Result<std::string> CertificatePemFingerprint(const std::string& pem);

// Fingerprint of the verified client certificate of a TLS connection, or ""
// when the client sent none.
std::string PeerCertificateFingerprint(const SSL* ssl);

}  // namespace abis::server

#endif  // ABIS_SERVER_TLS_H_

#include "server/tls.h"

#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

namespace abis::server {
namespace {

namespace fs = std::filesystem;

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct ReqFree {
  void operator()(X509_REQ* r) const { X509_REQ_free(r); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using ReqPtr = std::unique_ptr<X509_REQ, ReqFree>;

Status TlsError(const std::string& what) { return InternalError("tls: " + what); }

std::string Hex(const unsigned char* bytes, std::size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < size; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 15];
  }
  return out;
}

std::string Fingerprint(X509* cert) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (X509_digest(cert, EVP_sha256(), digest.data(), &size) != 1) return "";
  return Hex(digest.data(), size);
}

Result<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Status WriteFile(const std::string& path, const std::string& contents, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return UnavailableError("cannot write " + path);
  bool ok =
      ::fchmod(fd, mode) == 0 &&
      ::write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size()) &&
      ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  return ok ? Status::Ok() : UnavailableError("cannot write " + path);
}

Result<KeyPtr> NewP256Key() {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return TlsError("EC key generation failed");
  return key;
}

std::string PemOf(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string PemOf(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  if (extension == nullptr) return TlsError("bad extension " + value);
  bool ok = X509_add_ext(cert, extension, -1) == 1;
  X509_EXTENSION_free(extension);
  return ok ? Status::Ok() : TlsError("cannot add extension");
}

struct CertificateSpec {
  std::string common_name;
  long days = 365;
  bool is_ca = false;
  bool server = false;  // serverAuth + SAN; else clientAuth.
  std::string subject_alt_names;
};

// A certificate for `public_key`, signed by `issuer_key` (self-signed when
// `issuer` is null).
Result<X509Ptr> MakeCertificate(const CertificateSpec& spec, EVP_PKEY* public_key, X509* issuer,
                                EVP_PKEY* issuer_key) {
  X509Ptr cert(X509_new());
  if (!cert) return TlsError("X509_new failed");
  X509_set_version(cert.get(), 2);
  std::array<unsigned char, 16> serial_bytes{};
  if (RAND_bytes(serial_bytes.data(), serial_bytes.size()) != 1) return TlsError("RAND failed");
  serial_bytes[0] &= 0x7f;  // Positive.
  BIGNUM* serial = BN_bin2bn(serial_bytes.data(), serial_bytes.size(), nullptr);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.days * 24 * 3600L);
  X509_set_pubkey(cert.get(), public_key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("abis"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509* issuer_for_ext = issuer ? issuer : cert.get();
  if (spec.is_ca) {
    ABIS_RETURN_IF_ERROR(AddExtension(cert.get(), issuer_for_ext, NID_basic_constraints,
                                      "critical,CA:TRUE,pathlen:0"));
    ABIS_RETURN_IF_ERROR(
        AddExtension(cert.get(), issuer_for_ext, NID_key_usage, "critical,keyCertSign,cRLSign"));
  } else {
    ABIS_RETURN_IF_ERROR(
        AddExtension(cert.get(), issuer_for_ext, NID_basic_constraints, "critical,CA:FALSE"));
    ABIS_RETURN_IF_ERROR(
        AddExtension(cert.get(), issuer_for_ext, NID_key_usage, "critical,digitalSignature"));
    ABIS_RETURN_IF_ERROR(AddExtension(cert.get(), issuer_for_ext, NID_ext_key_usage,
                                      spec.server ? "serverAuth" : "clientAuth"));
  }
  if (!spec.subject_alt_names.empty()) {
    ABIS_RETURN_IF_ERROR(
        AddExtension(cert.get(), issuer_for_ext, NID_subject_alt_name, spec.subject_alt_names));
  }
  ABIS_RETURN_IF_ERROR(
      AddExtension(cert.get(), issuer_for_ext, NID_subject_key_identifier, "hash"));
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0) return TlsError("signing failed");
  return cert;
}

Result<X509Ptr> ParseCertificate(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return InvalidArgumentError("not a PEM certificate");
  return cert;
}

Result<KeyPtr> ParseKey(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return InvalidArgumentError("not a PEM private key");
  return key;
}

Status EnsureTlsDir(const fs::path& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (!fs::is_directory(dir, error)) return UnavailableError("cannot create " + dir.string());
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, error);
  return Status::Ok();
}

}  // namespace

Result<ServerCertificatePaths> EnsureSelfSignedServerCertificate(const std::string& data_dir,
                                                                 const std::string& host) {
  fs::path dir = fs::path(data_dir) / "tls";
  ABIS_RETURN_IF_ERROR(EnsureTlsDir(dir));
  ServerCertificatePaths paths{(dir / "server.pem").string(), (dir / "server.key").string()};
  std::error_code error;
  if (fs::exists(paths.cert_path, error) && fs::exists(paths.key_path, error)) return paths;
  ABIS_ASSIGN_OR_RETURN(KeyPtr key, NewP256Key());
  std::string names = "DNS:localhost,IP:127.0.0.1,IP:::1";
  in6_addr v6{};
  in_addr v4{};
  if (!host.empty() && host != "localhost" && host != "0.0.0.0" && host != "::") {
    bool is_ip = ::inet_pton(AF_INET, host.c_str(), &v4) == 1 ||
                 ::inet_pton(AF_INET6, host.c_str(), &v6) == 1;
    names += (is_ip ? ",IP:" : ",DNS:") + host;
  }
  char hostname[256] = {};
  if (::gethostname(hostname, sizeof hostname - 1) == 0 && hostname[0] != '\0' &&
      std::string(hostname) != "localhost") {
    names += ",DNS:" + std::string(hostname);
  }
  CertificateSpec spec{"abis server (self-signed)", 3650, false, true, names};
  ABIS_ASSIGN_OR_RETURN(X509Ptr cert, MakeCertificate(spec, key.get(), nullptr, key.get()));
  ABIS_RETURN_IF_ERROR(WriteFile(paths.key_path, PemOf(key.get()), 0600));
  ABIS_RETURN_IF_ERROR(WriteFile(paths.cert_path, PemOf(cert.get()), 0644));
  paths.generated = true;
  return paths;
}

struct DeviceCa::Keys {
  X509Ptr cert;
  KeyPtr key;
};

DeviceCa::~DeviceCa() = default;

Result<std::unique_ptr<DeviceCa>> DeviceCa::Open(const std::string& data_dir) {
  fs::path dir = fs::path(data_dir) / "tls";
  ABIS_RETURN_IF_ERROR(EnsureTlsDir(dir));
  std::unique_ptr<DeviceCa> ca(new DeviceCa());
  ca->keys_ = std::make_unique<Keys>();
  ca->cert_path_ = (dir / "device-ca.pem").string();
  std::string key_path = (dir / "device-ca.key").string();
  std::error_code error;
  if (fs::exists(ca->cert_path_, error) && fs::exists(key_path, error)) {
    ABIS_ASSIGN_OR_RETURN(ca->cert_pem_, ReadSmallFile(ca->cert_path_));
    ABIS_ASSIGN_OR_RETURN(std::string key_pem, ReadSmallFile(key_path));
    ABIS_ASSIGN_OR_RETURN(ca->keys_->cert, ParseCertificate(ca->cert_pem_));
    ABIS_ASSIGN_OR_RETURN(ca->keys_->key, ParseKey(key_pem));
    return ca;
  }
  ABIS_ASSIGN_OR_RETURN(ca->keys_->key, NewP256Key());
  CertificateSpec spec{"abis device CA", 3650, true, false, ""};
  ABIS_ASSIGN_OR_RETURN(ca->keys_->cert,
                        MakeCertificate(spec, ca->keys_->key.get(), nullptr, ca->keys_->key.get()));
  ca->cert_pem_ = PemOf(ca->keys_->cert.get());
  ABIS_RETURN_IF_ERROR(WriteFile(key_path, PemOf(ca->keys_->key.get()), 0600));
  ABIS_RETURN_IF_ERROR(WriteFile(ca->cert_path_, ca->cert_pem_, 0644));
  return ca;
}

Result<DeviceCertificate> DeviceCa::Issue(const std::string& name,
                                          const std::string& csr_pem) const {
  DeviceCertificate issued;
  KeyPtr generated;
  EVP_PKEY* public_key = nullptr;
  ReqPtr request;
  if (!csr_pem.empty()) {
    BioPtr bio(BIO_new_mem_buf(csr_pem.data(), static_cast<int>(csr_pem.size())));
    request.reset(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
    if (!request) return InvalidArgumentError("csr is not a PEM certificate request");
    public_key = X509_REQ_get0_pubkey(request.get());
    if (public_key == nullptr || X509_REQ_verify(request.get(), public_key) != 1) {
      return InvalidArgumentError("csr signature does not verify");
    }
  } else {
    ABIS_ASSIGN_OR_RETURN(generated, NewP256Key());
    public_key = generated.get();
    issued.private_key_pem = PemOf(generated.get());
  }
  CertificateSpec spec{name, 730, false, false, ""};
  ABIS_ASSIGN_OR_RETURN(X509Ptr cert,
                        MakeCertificate(spec, public_key, keys_->cert.get(), keys_->key.get()));
  issued.certificate_pem = PemOf(cert.get());
  issued.fingerprint = Fingerprint(cert.get());
  return issued;
}

Result<std::string> CertificatePemFingerprint(const std::string& pem) {
  ABIS_ASSIGN_OR_RETURN(X509Ptr cert, ParseCertificate(pem));
  return Fingerprint(cert.get());
}

std::string PeerCertificateFingerprint(const SSL* ssl) {
  if (ssl == nullptr) return "";
  X509Ptr cert(SSL_get1_peer_certificate(ssl));
  if (!cert) return "";
  return Fingerprint(cert.get());
}

}  // namespace abis::server

package redis_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/redis"
	"github.com/fragcache/fragcache/internal/testserver"
)

// TestTLS starts a redis-server with a TLS port and a self-signed
// certificate: New with a TLSConfig trusting it talks TLS, and a rediss://
// URL (which verifies against the system roots) attempts TLS and rejects
// the unknown certificate.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM, pool := selfSigned(t)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	must(t, os.WriteFile(certFile, certPEM, 0o600))
	must(t, os.WriteFile(keyFile, keyPEM, 0o600))
	tlsAddr := deadPort(t)
	_, port, _ := net.SplitHostPort(tlsAddr)
	testserver.Redis(t, "--tls-port", port, "--tls-cert-file", certFile, "--tls-key-file", keyFile,
		"--tls-ca-cert-file", certFile, "--tls-auth-clients", "no")

	b, err := redis.New(redis.Options{Addrs: []string{tlsAddr}, TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}})
	must(t, err)
	c, err := cache.New(b)
	must(t, err)
	defer c.Close()
	must(t, c.Set(bg, "k", []byte("over TLS"), cache.DefaultTimeout))
	if v, ok, err := c.Get(bg, "k"); err != nil || !ok || string(v) != "over TLS" {
		t.Errorf("Get over TLS = %q, %v, %v", v, ok, err)
	}

	cu := open(t, "rediss://"+tlsAddr)
	_, _, err = cu.Get(bg, "k")
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("rediss:// to a self-signed server: %v; want a certificate error", err)
	}
	// redis:// to the TLS port does not speak TLS.
	cp := open(t, "redis://"+tlsAddr+"?read_timeout=300ms&max_retries=0")
	if _, _, err := cp.Get(bg, "k"); err == nil {
		t.Error("plain-text client talked to the TLS port")
	}
}

func selfSigned(t *testing.T) (certPEM, keyPEM []byte, pool *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "fragcache test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	must(t, err)
	cert, err := x509.ParseCertificate(der)
	must(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), pool
}

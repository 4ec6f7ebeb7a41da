package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/marquee-signage/marquee/mqtt"
)

// selfSigned writes a certificate for 127.0.0.1 and localhost and its key,
// and returns their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "marquee test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServeTLS: with a certificate, HTTP is HTTPS and the broker's TLS
// listener accepts a display; the server itself reaches its broker when
// TLS is its only listener.
func TestServeTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	m, _ := startMain(t, envMap("MARQUEE_ADMIN_PASSWORD", "correct-horse-battery"), "--data-dir", t.TempDir(),
		"--mqtt-addr", "off", "--mqtt-tls-addr", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}
	resp, err := client.Get("https://" + m.HTTPAddr() + "/healthz")
	if err != nil {
		t.Fatalf("HTTPS healthz: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("HTTPS healthz=%d", resp.StatusCode)
	}
	if _, err := http.Get("http://" + m.HTTPAddr() + "/healthz"); err == nil {
		// A plain-HTTP request to a TLS port gets a 400 from net/http, not a page.
		r, _ := http.Get("http://" + m.HTTPAddr() + "/healthz")
		if r != nil && r.StatusCode == 200 {
			t.Fatal("plain HTTP served on the TLS port")
		}
	}
	tlsAddr := m.broker.TLSAddr()
	if tlsAddr == "" {
		t.Fatal("no TLS listener")
	}
	// The server's own client reached its broker over TLS.
	deadline := time.Now().Add(5 * time.Second)
	for !m.fleet.Client().Connected() {
		if time.Now().After(deadline) {
			t.Fatal("the server did not connect to its own TLS-only broker")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A display connects with TLS, verifying the certificate.
	base := "https://" + m.HTTPAddr()
	token := tlsLogin(t, client, base)
	var d struct{ ID, Token string }
	req, _ := http.NewRequest("POST", base+"/api/v1/displays", strings.NewReader(`{"name":"TLS","width":96,"height":48}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	r, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	decodeJSON(t, r, &d)
	c, err := mqtt.New(mqtt.Config{BrokerURL: "ssl://" + tlsAddr, ClientID: d.ID, Username: d.ID, Password: d.Token,
		TLSConfig: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatalf("display over TLS: %v", err)
	}
}

func TestTLSFlagsGoTogether(t *testing.T) {
	for _, args := range [][]string{
		{"--tls-cert", "c.pem"},
		{"--tls-key", "k.pem"},
		{"--mqtt-tls-addr", ":8883"},
	} {
		m := NewMain(io.Discard, io.Discard, envMap())
		if err := m.ParseFlags("serve", args); err == nil {
			t.Errorf("ParseFlags(%v) accepted", args)
		}
	}
}

func tlsLogin(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	r, err := c.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(`{"username":"admin","password":"correct-horse-battery"}`))
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Token string }
	decodeJSON(t, r, &v)
	return v.Token
}

func decodeJSON(t *testing.T, r *http.Response, v any) {
	t.Helper()
	defer r.Body.Close()
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		t.Fatalf("decode %s: %v", r.Request.URL, err)
	}
}

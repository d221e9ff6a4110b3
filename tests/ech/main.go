// ech-server: a TLS 1.3 server that accepts Encrypted Client Hello (Go's crypto/tls), for
// tlswire's ECH tests. It makes its own CA and two certificates (the real name, the public
// name), an X25519 ECH key and its ECHConfigList, and prints them as the first line of stdout:
//
//	{"port":P,"ca":"PEM","ech_config_list":"base64","retry_config_list":"base64"}
//
// With -reject the published list holds a key the server does not have, so the server rejects
// ECH and offers its real list as retry configurations. For every connection it prints one JSON
// line: whether crypto/tls accepted ECH, the name it served, the ClientHello's outer server name,
// and the inner ClientHello decrypted independently (crypto/hpke) from the recorded bytes:
//
//	{"accepted":true,"server_name":"...","outer_sni":"...","inner_sni":"...","alpn":"...",
//	 "outer_has_real_name":false}
//
// then echoes application data until the client closes.
package main

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hpke"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"sync"
	"time"
)

const extECH = 0xfe0d

func main() {
	port := flag.Int("port", 0, "port on 127.0.0.1 (0: any)")
	name := flag.String("name", "secret.test", "the server's real name (the inner ClientHello's)")
	public := flag.String("public", "public.test", "the ECH configuration's public name")
	reject := flag.Bool("reject", false, "publish a key the server does not hold")
	flag.Parse()

	caKey, caCert, caPEM := must3(newCA())
	realCert := must(leaf(caKey, caCert, *name))
	publicCert := must(leaf(caKey, caCert, *public))

	serverKey := must(ecdh.X25519().GenerateKey(rand.Reader))
	serverConfig := echConfig(1, serverKey.PublicKey().Bytes(), *public)
	published := serverConfig
	if *reject {
		other := must(ecdh.X25519().GenerateKey(rand.Reader))
		published = echConfig(2, other.PublicKey().Bytes(), *public)
	}

	ln := must(net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port)))
	config := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{realCert, publicCert},
		NextProtos:   []string{"h2", "http/1.1", "echo"},
		EncryptedClientHelloKeys: []tls.EncryptedClientHelloKey{{
			Config: serverConfig, PrivateKey: serverKey.Bytes(), SendAsRetry: true,
		}},
	}
	first, _ := json.Marshal(map[string]any{
		"port":              ln.Addr().(*net.TCPAddr).Port,
		"ca":                string(caPEM),
		"ech_config_list":   base64.StdEncoding.EncodeToString(list(published)),
		"retry_config_list": base64.StdEncoding.EncodeToString(list(serverConfig)),
	})
	var out sync.Mutex
	fmt.Println(string(first))
	for {
		raw, err := ln.Accept()
		if err != nil {
			fatal(err)
		}
		go func() {
			defer raw.Close()
			rec := &recorder{Conn: raw}
			conn := tls.Server(rec, config)
			conn.SetDeadline(time.Now().Add(20 * time.Second))
			report := map[string]any{}
			if err := conn.Handshake(); err != nil {
				if rec.first() == nil {
					return // a port probe, not a client
				}
				report["error"] = err.Error()
			} else {
				state := conn.ConnectionState()
				report["accepted"] = state.ECHAccepted
				report["server_name"] = state.ServerName
				report["alpn"] = state.NegotiatedProtocol
			}
			inspect(rec.first(), serverConfig, serverKey, *name, report)
			line, _ := json.Marshal(report)
			out.Lock()
			fmt.Println(string(line))
			out.Unlock()
			if report["error"] == nil {
				conn.SetDeadline(time.Time{})
				io.Copy(conn, conn)
				conn.Close()
			}
		}()
	}
}

// echConfig is an ECHConfig (RFC 9849 §4): version 0xfe0d, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256
// with AES-128-GCM or ChaCha20-Poly1305, no extensions.
func echConfig(id byte, pub []byte, publicName string) []byte {
	var c bytes.Buffer
	c.WriteByte(id)
	c.Write(u16(0x0020))
	c.Write(u16(len(pub)))
	c.Write(pub)
	c.Write(u16(8))
	c.Write(u16(1))
	c.Write(u16(1))
	c.Write(u16(1))
	c.Write(u16(3))
	c.WriteByte(0) // maximum_name_length
	c.WriteByte(byte(len(publicName)))
	c.WriteString(publicName)
	c.Write(u16(0)) // extensions
	return append(append(u16(extECH), u16(c.Len())...), c.Bytes()...)
}

func list(configs ...[]byte) []byte {
	body := bytes.Join(configs, nil)
	return append(u16(len(body)), body...)
}

func u16(n int) []byte { return binary.BigEndian.AppendUint16(nil, uint16(n)) }

// recorder keeps the first bytes the client sends (its ClientHello).
type recorder struct {
	net.Conn
	mu  sync.Mutex
	buf []byte
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.mu.Lock()
	if len(r.buf) < 1<<16 {
		r.buf = append(r.buf, p[:n]...)
	}
	r.mu.Unlock()
	return n, err
}

// first is the first handshake message (the ClientHello body, without its 4-byte header).
func (r *recorder) first() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	var hs []byte
	for b := r.buf; len(b) >= 5 && b[0] == 22; {
		n := int(binary.BigEndian.Uint16(b[3:5]))
		if len(b) < 5+n {
			break
		}
		hs = append(hs, b[5:5+n]...)
		b = b[5+n:]
		if len(hs) >= 4 && len(hs) >= 4+int(hs[1])<<16|int(hs[2])<<8|int(hs[3]) {
			break
		}
	}
	if len(hs) < 4 || hs[0] != 1 {
		return nil
	}
	n := int(hs[1])<<16 | int(hs[2])<<8 | int(hs[3])
	if len(hs) < 4+n {
		return nil
	}
	return hs[4 : 4+n]
}

// inspect reads the outer ClientHello's server name and ECH extension and, independently of
// crypto/tls, decrypts the inner ClientHello with crypto/hpke (RFC 9849 §5.2: the AAD is the
// outer ClientHello with the payload zeroed; info is "tls ech" 0x00 ECHConfig).
func inspect(hello []byte, config []byte, key *ecdh.PrivateKey, realName string, report map[string]any) {
	if hello == nil {
		report["inspect_error"] = "no ClientHello recorded"
		return
	}
	report["outer_has_real_name"] = bytes.Contains(hello, []byte(realName))
	exts, err := extensions(hello, 2+32)
	if err != nil {
		report["inspect_error"] = err.Error()
		return
	}
	if sni, ok := exts[0]; ok {
		report["outer_sni"] = hostName(sni.data)
	}
	ech, ok := exts[extECH]
	if !ok {
		report["inspect_error"] = "no ECH extension"
		return
	}
	d := ech.data
	if len(d) < 10 || d[0] != 0 {
		report["inspect_error"] = "not an outer ECH extension"
		return
	}
	kdfID, aeadID, configID := binary.BigEndian.Uint16(d[1:3]), binary.BigEndian.Uint16(d[3:5]), d[5]
	report["config_id"] = configID
	encLen := int(binary.BigEndian.Uint16(d[6:8]))
	if len(d) < 8+encLen+2 {
		report["inspect_error"] = "short ECH extension"
		return
	}
	enc := d[8 : 8+encLen]
	payloadLen := int(binary.BigEndian.Uint16(d[8+encLen : 10+encLen]))
	payloadAt := ech.offset + 10 + encLen
	if payloadAt+payloadLen > len(hello) {
		report["inspect_error"] = "short ECH payload"
		return
	}
	payload := hello[payloadAt : payloadAt+payloadLen]
	aad := bytes.Clone(hello)
	clear(aad[payloadAt : payloadAt+payloadLen])
	kdf, err1 := hpke.NewKDF(kdfID)
	aead, err2 := hpke.NewAEAD(aeadID)
	priv, err3 := hpke.NewDHKEMPrivateKey(key)
	if err := errors.Join(err1, err2, err3); err != nil {
		report["inspect_error"] = err.Error()
		return
	}
	recipient, err := hpke.NewRecipient(enc, priv, kdf, aead, append([]byte("tls ech\x00"), config...))
	if err != nil {
		report["inspect_error"] = err.Error()
		return
	}
	inner, err := recipient.Open(aad, payload)
	if err != nil {
		report["inner_decrypted"] = false
		return
	}
	report["inner_decrypted"] = true
	innerExts, err := extensions(inner, 2+32)
	if err != nil {
		report["inspect_error"] = "inner: " + err.Error()
		return
	}
	if sni, ok := innerExts[0]; ok {
		report["inner_sni"] = hostName(sni.data)
	}
	if _, ok := innerExts[extECH]; ok {
		report["inner_has_ech_inner"] = true
	}
}

type ext struct {
	data   []byte
	offset int // of the extension's data within the ClientHello
}

// extensions parses a ClientHello body from `at` (after legacy_version and random).
func extensions(h []byte, at int) (map[uint16]ext, error) {
	skip := func(lenBytes int) error {
		if at+lenBytes > len(h) {
			return errors.New("short ClientHello")
		}
		n := 0
		for _, b := range h[at : at+lenBytes] {
			n = n<<8 | int(b)
		}
		at += lenBytes + n
		if at > len(h) {
			return errors.New("short ClientHello")
		}
		return nil
	}
	if err := errors.Join(skip(1), skip(2), skip(1)); err != nil {
		return nil, err
	}
	if at+2 > len(h) {
		return nil, errors.New("no extensions")
	}
	end := at + 2 + int(binary.BigEndian.Uint16(h[at:]))
	at += 2
	out := map[uint16]ext{}
	for at+4 <= end && end <= len(h) {
		typ, n := binary.BigEndian.Uint16(h[at:]), int(binary.BigEndian.Uint16(h[at+2:]))
		if at+4+n > end {
			return nil, errors.New("short extension")
		}
		out[typ] = ext{data: h[at+4 : at+4+n], offset: at + 4}
		at += 4 + n
	}
	return out, nil
}

// hostName is the first host_name in a server_name extension.
func hostName(d []byte) string {
	if len(d) < 5 || d[2] != 0 {
		return ""
	}
	n := int(binary.BigEndian.Uint16(d[3:5]))
	if len(d) < 5+n {
		return ""
	}
	return string(d[5 : 5+n])
}

func newCA() (*ecdsa.PrivateKey, *x509.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tlswire ECH test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return key, cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), err
}

func leaf(caKey *ecdsa.PrivateKey, ca *x509.Certificate, name string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func must[T any](v T, err error) T {
	if err != nil {
		fatal(err)
	}
	return v
}

func must3[A, B, C any](a A, b B, c C, err error) (A, B, C) {
	if err != nil {
		fatal(err)
	}
	return a, b, c
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "ech-server:", err)
	os.Exit(1)
}

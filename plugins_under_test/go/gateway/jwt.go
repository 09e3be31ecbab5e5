package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

type verifier struct {
	secret []byte
	keys   map[string]crypto.PublicKey
}

func newVerifier(secret string, pems map[string]string) (*verifier, error) {
	v := &verifier{secret: []byte(secret), keys: map[string]crypto.PublicKey{}}
	for kid, text := range pems {
		block, _ := pem.Decode([]byte(text))
		if block == nil {
			return nil, fmt.Errorf("key %q: no PEM block", kid)
		}
		switch block.Type {
		case "CERTIFICATE":
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("key %q: %w", kid, err)
			}
			v.keys[kid] = cert.PublicKey
		default:
			key, err := x509.ParsePKIXPublicKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("key %q: %w", kid, err)
			}
			v.keys[kid] = key
		}
	}
	return v, nil
}

type claims struct {
	Subject   string          `json:"sub"`
	Issuer    string          `json:"iss"`
	Audience  json.RawMessage `json:"aud"`
	Expires   int64           `json:"exp"`
	NotBefore int64           `json:"nbf"`
}

func (c *claims) valid(issuer, audience string, at time.Time) error {
	if issuer != "" && c.Issuer != issuer {
		return errors.New("issuer mismatch")
	}
	if audience != "" && !strings.Contains(string(c.Audience), `"`+audience+`"`) {
		return errors.New("audience mismatch")
	}
	if c.Expires != 0 && at.Unix() >= c.Expires {
		return errors.New("token expired")
	}
	if c.NotBefore != 0 && at.Unix() < c.NotBefore {
		return errors.New("token not valid yet")
	}
	return nil
}

func (v *verifier) verify(token string) (*claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("malformed token")
	}
	rawHeader, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, errors.New("bad token header encoding")
	}
	var head struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(rawHeader, &head); err != nil {
		return nil, errors.New("bad token header")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, errors.New("bad signature encoding")
	}
	signed := []byte(parts[0] + "." + parts[1])
	digest := sha256.Sum256(signed)
	switch head.Alg {
	case "HS256":
		if len(v.secret) == 0 {
			return nil, errors.New("HS256 not configured")
		}
		mac := hmac.New(sha256.New, v.secret)
		mac.Write(signed)
		if !hmac.Equal(mac.Sum(nil), sig) {
			return nil, errors.New("bad signature")
		}
	case "RS256", "ES256", "EdDSA":
		key, ok := v.keys[head.Kid]
		if !ok {
			return nil, errors.New("unknown key id")
		}
		if err := verifyWith(key, head.Alg, digest[:], signed, sig); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("unsupported alg " + head.Alg)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, errors.New("bad payload encoding")
	}
	c := &claims{}
	if err := json.Unmarshal(payload, c); err != nil {
		return nil, errors.New("bad payload")
	}
	return c, nil
}

func verifyWith(key crypto.PublicKey, alg string, digest, signed, sig []byte) error {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if alg != "RS256" || rsa.VerifyPKCS1v15(k, crypto.SHA256, digest, sig) != nil {
			return errors.New("bad signature")
		}
	case *ecdsa.PublicKey:
		if alg != "ES256" || len(sig) != 64 {
			return errors.New("bad signature")
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(k, digest, r, s) {
			return errors.New("bad signature")
		}
	case ed25519.PublicKey:
		if alg != "EdDSA" || !ed25519.Verify(k, signed, sig) {
			return errors.New("bad signature")
		}
	default:
		return errors.New("unsupported key type")
	}
	return nil
}

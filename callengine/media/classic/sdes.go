package classic

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/srtp/v3"
)

// SDES crypto suites we speak (RFC 4568 §6.2). Both use AES-128 counter mode
// with a 30-byte master key+salt; they differ in the authentication tag.
const (
	suite80 = "AES_CM_128_HMAC_SHA1_80"
	suite32 = "AES_CM_128_HMAC_SHA1_32"
)

const sdesKeyLen, sdesSaltLen = 16, 14

// cryptoAttr is one a=crypto line (RFC 4568 §4): tag, suite and the inline
// master key and salt.
type cryptoAttr struct {
	tag   int
	suite string
	key   []byte // 16 bytes key + 14 bytes salt
}

func (c cryptoAttr) String() string {
	return strconv.Itoa(c.tag) + " " + c.suite + " inline:" + base64.StdEncoding.EncodeToString(c.key)
}

func (c cryptoAttr) profile() srtp.ProtectionProfile {
	if c.suite == suite32 {
		return srtp.ProtectionProfileAes128CmHmacSha1_32
	}
	return srtp.ProtectionProfileAes128CmHmacSha1_80
}

// newCrypto makes a fresh random master key for suite.
func newCrypto(tag int, suite string) (cryptoAttr, error) {
	key := make([]byte, sdesKeyLen+sdesSaltLen)
	if _, err := rand.Read(key); err != nil {
		return cryptoAttr{}, fmt.Errorf("classic: SDES key: %w", err)
	}
	return cryptoAttr{tag: tag, suite: suite, key: key}, nil
}

// parseCrypto parses the value of an a=crypto attribute. It returns ok=false
// for suites and parameters we do not support, so the caller can try the
// next line (RFC 4568 §7.1.1: the answerer picks one acceptable line):
// unknown suites, several keys, an MKI, or session parameters such as
// UNENCRYPTED_SRTP.
func parseCrypto(v string) (c cryptoAttr, ok bool) {
	f := strings.Fields(v)
	if len(f) != 3 {
		return c, false // no session parameters supported
	}
	tag, err := strconv.Atoi(f[0])
	if err != nil || tag < 0 || tag > 999999999 {
		return c, false
	}
	suite := strings.ToUpper(f[1])
	if suite != suite80 && suite != suite32 {
		return c, false
	}
	if strings.Contains(f[2], ";") { // several key-params
		return c, false
	}
	kp, found := strings.CutPrefix(f[2], "inline:")
	if !found {
		return c, false
	}
	b64, rest, _ := strings.Cut(kp, "|")
	// A lifetime is fine (we rekey never and calls are short); an MKI
	// ("|1:4") would put an MKI field in every packet, which we do not do.
	if strings.Contains(rest, ":") {
		return c, false
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		// Some phones drop the padding.
		key, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(b64, "="))
	}
	if err != nil || len(key) != sdesKeyLen+sdesSaltLen {
		return c, false
	}
	return cryptoAttr{tag: tag, suite: suite, key: key}, true
}

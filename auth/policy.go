package auth

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/marquee-signage/marquee"
)

// The password policy, for passwords that people choose (generated ones
// are strong by construction and are not checked).
//
// Length counts most, as NIST SP 800-63B advises; the other rules only
// catch what an attacker tries first: one repeated character, a common
// password, a common word with digits or symbols around it, and short
// passwords of a single kind of character. A long passphrase of one kind
// ("correct horse battery staple" without spaces) is accepted.
const (
	// minDistinctRunes is the fewest different characters a password
	// must use ("aaaaaaaaaaaa", "abababababab" are refused).
	minDistinctRunes = 5
	// passphraseLen is the length from which a password of a single kind
	// of character (all lower case, all digits…) is accepted.
	passphraseLen = 20
)

// commonPasswords are refused outright, compared in lower case. The list
// is short on purpose: it holds the well-known passwords long enough to
// pass the length rule, and the obvious ones for this product.
var commonPasswords = map[string]bool{
	"password1234": true, "password12345": true, "password123!": true, "password@123": true,
	"passw0rd1234": true, "p@ssw0rd1234": true, "p@ssword1234": true,
	"admin1234567": true, "admin@123456": true, "adminadmin12": true, "adminadmin123": true,
	"administrator": true, "administrator1": true, "administrator123": true,
	"marquee12345": true, "marquee123456": true, "marquee-admin": true, "marqueeadmin1": true,
	"123456789012": true, "1234567890ab": true, "qwerty123456": true, "qwertyuiop12": true,
	"qwertyuiop123": true, "1q2w3e4r5t6y": true, "1qaz2wsx3edc": true, "zaq12wsxcde3": true,
	"letmein12345": true, "welcome12345": true, "welcome@1234": true, "changeme1234": true,
	"changeme123!": true, "iloveyou1234": true, "abc123456789": true, "abcd12345678": true,
	"trustno11234": true, "football1234": true, "baseball1234": true, "superman1234": true,
	"sunshine1234": true, "princess1234": true, "dragon123456": true, "monkey123456": true,
}

// commonWords are refused when the password is one of them with only
// digits and symbols before or after ("Password2024!", "@dmin-123456",
// "Marquee#2026"), after undoing common letter substitutions.
var commonWords = map[string]bool{
	"password": true, "passwd": true, "pass": true, "admin": true, "administrator": true,
	"root": true, "user": true, "login": true, "welcome": true, "letmein": true, "changeme": true,
	"qwerty": true, "qwertyuiop": true, "asdfgh": true, "iloveyou": true, "secret": true,
	"marquee": true, "signage": true, "display": true, "screen": true, "test": true, "demo": true,
	"default": true, "master": true, "abc": true, "abcdef": true, "abcdefgh": true,
}

// leet undoes the letter substitutions people expect to fool a list.
var leet = strings.NewReplacer("0", "o", "1", "i", "3", "e", "4", "a", "5", "s", "7", "t", "@", "a", "$", "s", "!", "i")

// CheckPasswordStrength reports whether pw may be a password a person
// chose. It returns nil, or EINVALID with a message that names the rule pw
// breaks, fit to show to that person (it never contains pw). The rules:
// at least MinPasswordLen characters; at most 72 bytes (bcrypt's limit);
// at least minDistinctRunes different characters; not a common password
// or a common word padded with digits and symbols; and, when shorter than
// passphraseLen, at least two kinds of character among lower case, upper
// case, digits and others (symbols, spaces).
func CheckPasswordStrength(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinPasswordLen:
		return weak("use at least %d characters", MinPasswordLen)
	case len(pw) > maxPasswordLen:
		return marquee.Errorf(marquee.EINVALID, "password is too long: at most %d bytes", maxPasswordLen)
	case distinctRunes(pw) < minDistinctRunes:
		return weak("use at least %d different characters", minDistinctRunes)
	case isCommon(pw):
		return weak("it is a common password, or a common word with digits or symbols around it")
	case n < passphraseLen && characterKinds(pw) < 2:
		return weak("mix at least two kinds of character (lower case, upper case, digits, symbols), or use at least %d characters", passphraseLen)
	}
	return nil
}

func weak(format string, args ...any) error {
	return marquee.Errorf(marquee.EINVALID, "password is too weak: "+format, args...)
}

func distinctRunes(s string) int {
	seen := make(map[rune]bool, len(s))
	for _, r := range s {
		seen[r] = true
	}
	return len(seen)
}

// characterKinds counts the kinds of character in s: lower case, upper
// case, digits, others.
func characterKinds(s string) int {
	var lower, upper, digit, other int
	for _, r := range s {
		switch {
		case unicode.IsLower(r):
			lower = 1
		case unicode.IsUpper(r):
			upper = 1
		case unicode.IsDigit(r):
			digit = 1
		default:
			other = 1
		}
	}
	return lower + upper + digit + other
}

// isCommon reports whether pw is in commonPasswords, or is a common word
// (after undoing letter substitutions) with only digits and symbols
// before and after it. Every cut of the leading and trailing runs of
// non-letters is tried, since substitutes are non-letters too ("4dmin!").
func isCommon(pw string) bool {
	lower := strings.ToLower(pw)
	if commonPasswords[lower] {
		return true
	}
	r := []rune(lower)
	lead := 0
	for lead < len(r) && !unicode.IsLetter(r[lead]) {
		lead++
	}
	if lead == len(r) { // no letters: the kinds rule judges it
		return false
	}
	trail := 0
	for !unicode.IsLetter(r[len(r)-1-trail]) {
		trail++
	}
	for i := 0; i <= lead; i++ {
		for j := 0; j <= trail; j++ {
			if commonWords[leet.Replace(string(r[i:len(r)-j]))] {
				return true
			}
		}
	}
	return false
}

package cognitotest

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
)

// User is a user of a Directory's pool.
type User struct {
	Username, Sub, Email string
}

// Directory plays a Cognito user pool's ListUsers API (cognito-idp, JSON 1.1) for tests of
// the code that finds users by name: an exact filter (`attr = "value"`, with \" and \\
// escapes) on username, email or sub, Limit, AttributesToGet; requests signed for
// cognito-idp. Other filters, pools and operations get Cognito's error shapes.
type Directory struct {
	Pool  string
	Users []User

	mu       sync.Mutex
	requests []map[string]any
}

// Requests are the bodies of the ListUsers requests answered, in order.
func (d *Directory) Requests() []map[string]any {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]map[string]any(nil), d.requests...)
}

func (d *Directory) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, typ, msg string) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
	}
	if !strings.Contains(r.Header.Get("Authorization"), "/cognito-idp/aws4_request") {
		fail(http.StatusBadRequest, "MissingAuthenticationTokenException", "unsigned")
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "AWSCognitoIdentityProviderService.ListUsers" ||
		r.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		fail(http.StatusBadRequest, "UnknownOperationException", "")
		return
	}
	var in struct {
		UserPoolID      string `json:"UserPoolId"`
		Filter          string
		Limit           int
		AttributesToGet []string
	}
	var raw map[string]any
	body := json.NewDecoder(r.Body)
	if err := body.Decode(&raw); err != nil {
		fail(http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	b, _ := json.Marshal(raw)
	_ = json.Unmarshal(b, &in)
	d.mu.Lock()
	d.requests = append(d.requests, raw)
	d.mu.Unlock()
	if in.UserPoolID != d.Pool {
		fail(http.StatusBadRequest, "ResourceNotFoundException", "User pool "+in.UserPoolID+" does not exist.")
		return
	}
	attr, value, ok := parseFilter(in.Filter)
	if !ok {
		fail(http.StatusBadRequest, "InvalidParameterException", "Error while parsing filter.")
		return
	}
	type attribute struct{ Name, Value string }
	type user struct {
		Username   string
		Attributes []attribute
		Enabled    bool
		UserStatus string
	}
	out := struct{ Users []user }{Users: []user{}}
	for _, u := range d.Users {
		have := map[string]string{"username": u.Username, "email": u.Email, "sub": u.Sub}
		if have[attr] != value || (in.Limit > 0 && len(out.Users) == in.Limit) {
			continue
		}
		found := user{Username: u.Username, Enabled: true, UserStatus: "CONFIRMED"}
		for _, name := range []string{"sub", "email"} {
			wanted := len(in.AttributesToGet) == 0
			for _, a := range in.AttributesToGet {
				wanted = wanted || a == name
			}
			if wanted && have[name] != "" {
				found.Attributes = append(found.Attributes, attribute{name, have[name]})
			}
		}
		out.Users = append(out.Users, found)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

// parseFilter reads `attr = "value"` for the attributes Directory filters on.
func parseFilter(f string) (attr, value string, ok bool) {
	attr, rest, ok := strings.Cut(f, ` = "`)
	if !ok || (attr != "username" && attr != "email" && attr != "sub") || !strings.HasSuffix(rest, `"`) {
		return "", "", false
	}
	rest = rest[:len(rest)-1]
	var b strings.Builder
	for i := 0; i < len(rest); i++ {
		switch c := rest[i]; {
		case c == '\\' && i+1 < len(rest):
			i++
			b.WriteByte(rest[i])
		case c == '\\', c == '"':
			return "", "", false // an unescaped quote would end the string early
		default:
			b.WriteByte(c)
		}
	}
	return attr, b.String(), true
}

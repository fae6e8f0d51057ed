package secret_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/mycrt/captures/pkg/secret"
)

// fakeKMS answers Encrypt and Decrypt in KMS's JSON 1.1 protocol. Its "ciphertext" is the
// plaintext behind the key id and encryption context it was sealed with, so a Decrypt with
// another context fails as KMS's does (InvalidCiphertextException).
func fakeKMS(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=key/") || !strings.Contains(auth, "/us-east-1/kms/aws4_request") {
			t.Errorf("unsigned or wrongly scoped request: %q", auth)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
			t.Errorf("content type %q", ct)
		}
		var in struct {
			KeyId                     string
			Plaintext, CiphertextBlob []byte
			EncryptionContext         map[string]string
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			t.Errorf("body: %v", err)
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		ctx, _ := json.Marshal(in.EncryptionContext)
		fail := func(code, msg string) {
			w.WriteHeader(400)
			json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
		}
		switch r.Header.Get("X-Amz-Target") {
		case "TrentService.Encrypt":
			if in.KeyId == "denied" {
				fail("AccessDeniedException", "User: arn:aws:sts::123456789012:assumed-role/x is not authorized to perform: kms:Encrypt")
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"CiphertextBlob": []byte(in.KeyId + "|" + string(ctx) + "|" + string(in.Plaintext)), "KeyId": in.KeyId})
		case "TrentService.Decrypt":
			parts := strings.SplitN(string(in.CiphertextBlob), "|", 3)
			if len(parts) != 3 || parts[0] != in.KeyId || parts[1] != string(ctx) {
				fail("InvalidCiphertextException", "")
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"Plaintext": []byte(parts[2]), "KeyId": in.KeyId})
		default:
			t.Errorf("unexpected target %q", r.Header.Get("X-Amz-Target"))
			w.WriteHeader(400)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

var testConfig = aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("key", "secret", "token")}

// TestKMS seals and opens passwords through KMS's wire protocol, each bound to its environment.
func TestKMS(t *testing.T) {
	srv := fakeKMS(t)
	ctx := context.Background()
	k := secret.NewKMS(testConfig, srv.URL, "alias/mycrt")
	sealed, err := k.Seal(ctx, 7, "s3cret pässword")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "s3cret") {
		t.Errorf("sealed %q shows the password", sealed)
	}
	if got, err := k.Open(ctx, 7, sealed); err != nil || got != "s3cret pässword" {
		t.Errorf("open: %q, %v", got, err)
	}
	// Another environment's context does not open it.
	if _, err := k.Open(ctx, 8, sealed); err == nil || !strings.Contains(err.Error(), "AWS answered InvalidCiphertextException") {
		t.Errorf("open as environment 8: %v", err)
	}
	// AWS's message (ARNs, accounts) stays out of the error's text.
	_, err = secret.NewKMS(testConfig, srv.URL, "denied").Seal(ctx, 7, "x")
	if err == nil || err.Error() != "seal the password of environment 7: AWS answered AccessDeniedException" {
		t.Errorf("denied: %v", err)
	}
}

// TestFakeKMSIsKMS holds the fake to the SDK's own KMS client: what the SDK seals, the fake
// opens, so the fake speaks the protocol and not only this package's idea of it.
func TestFakeKMSIsKMS(t *testing.T) {
	srv := fakeKMS(t)
	ctx := context.Background()
	sdk := kms.NewFromConfig(testConfig, func(o *kms.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	enc, err := sdk.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/mycrt"), Plaintext: []byte("pw"),
		EncryptionContext: map[string]string{"mycrt:envId": "3"}})
	if err != nil {
		t.Fatal(err)
	}
	// Each opens what the other sealed.
	k := secret.NewKMS(testConfig, srv.URL, "alias/mycrt")
	if got, err := k.Open(ctx, 3, base64.StdEncoding.EncodeToString(enc.CiphertextBlob)); err != nil || got != "pw" {
		t.Fatalf("open what the SDK sealed: %q %v", got, err)
	}
	sealed, _ := k.Seal(ctx, 3, "pw")
	blob, _ := base64.StdEncoding.DecodeString(sealed)
	dec, err := sdk.Decrypt(ctx, &kms.DecryptInput{KeyId: aws.String("alias/mycrt"), CiphertextBlob: blob,
		EncryptionContext: map[string]string{"mycrt:envId": "3"}})
	if err != nil || string(dec.Plaintext) != "pw" {
		t.Errorf("the SDK's decrypt: %q %v", dec.Plaintext, err)
	}
}

package secret

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mycrt/captures/pkg/awserr"
	"github.com/mycrt/captures/pkg/awsreq"
)

// KMS seals with an AWS KMS key, the environment id as encryption context, for running on AWS.
type KMS struct {
	kms   awsreq.Client
	keyID string
}

// NewKMS seals with key keyID, calling KMS with cfg's credentials at endpoint (KMS's in cfg's
// region when empty).
func NewKMS(cfg aws.Config, endpoint, keyID string) *KMS {
	return &KMS{kms: awsreq.New(cfg, "kms", endpoint), keyID: keyID}
}

func encryptionContext(envID int64) map[string]string {
	return map[string]string{"mycrt:envId": strconv.FormatInt(envID, 10)}
}

// call makes one KMS call in its JSON 1.1 protocol; []byte fields travel as base64, as
// encoding/json writes them.
func (k *KMS) call(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	_, answer, err := k.kms.Do(ctx, awsreq.Request{
		Header: http.Header{"X-Amz-Target": {"TrentService." + op}, "Content-Type": {"application/x-amz-json-1.1"}},
		Body:   body,
	})
	if err != nil {
		return err
	}
	if err := json.Unmarshal(answer, out); err != nil {
		return fmt.Errorf("kms %s: the answer is not JSON: %w", op, err)
	}
	return nil
}

type kmsRequest struct {
	KeyID             string            `json:"KeyId"`
	Plaintext         []byte            `json:"Plaintext,omitempty"`
	CiphertextBlob    []byte            `json:"CiphertextBlob,omitempty"`
	EncryptionContext map[string]string `json:"EncryptionContext"`
}

// Seal encrypts plaintext for environment envID.
func (k *KMS) Seal(ctx context.Context, envID int64, plaintext string) (string, error) {
	var out struct{ CiphertextBlob []byte }
	err := k.call(ctx, "Encrypt", kmsRequest{KeyID: k.keyID, Plaintext: []byte(plaintext), EncryptionContext: encryptionContext(envID)}, &out)
	if err != nil {
		return "", awserr.Wrap(fmt.Sprintf("seal the password of environment %d", envID), err)
	}
	return base64.StdEncoding.EncodeToString(out.CiphertextBlob), nil
}

// Open decrypts what Seal returned for the same environment.
func (k *KMS) Open(ctx context.Context, envID int64, sealed string) (string, error) {
	blob, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		return "", fmt.Errorf("open password of environment %d: malformed", envID)
	}
	var out struct{ Plaintext []byte }
	err = k.call(ctx, "Decrypt", kmsRequest{KeyID: k.keyID, CiphertextBlob: blob, EncryptionContext: encryptionContext(envID)}, &out)
	if err != nil {
		return "", awserr.Wrap(fmt.Sprintf("open the password of environment %d", envID), err)
	}
	return string(out.Plaintext), nil
}

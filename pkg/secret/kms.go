package secret

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"

	"github.com/mycrt/captures/pkg/awserr"

	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// KMS seals with an AWS KMS key, the environment id as encryption context, for running on AWS.
type KMS struct {
	Client *kms.Client
	KeyID  string
}

func encryptionContext(envID int64) map[string]string {
	return map[string]string{"mycrt:envId": strconv.FormatInt(envID, 10)}
}

// Seal encrypts plaintext for environment envID.
func (k *KMS) Seal(ctx context.Context, envID int64, plaintext string) (string, error) {
	out, err := k.Client.Encrypt(ctx, &kms.EncryptInput{
		KeyId:             &k.KeyID,
		Plaintext:         []byte(plaintext),
		EncryptionContext: encryptionContext(envID),
	})
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
	out, err := k.Client.Decrypt(ctx, &kms.DecryptInput{
		KeyId:             &k.KeyID,
		CiphertextBlob:    blob,
		EncryptionContext: encryptionContext(envID),
	})
	if err != nil {
		return "", awserr.Wrap(fmt.Sprintf("open the password of environment %d", envID), err)
	}
	return string(out.Plaintext), nil
}

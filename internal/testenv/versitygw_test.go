package testenv

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestS3GivesSeparateBuckets(t *testing.T) {
	a, b := S3(t), S3(t)
	if a.Bucket == b.Bucket {
		t.Fatalf("two calls returned the same bucket %q", a.Bucket)
	}
	if a.Endpoint != b.Endpoint || a.AccessKeyID == "" || a.SecretAccessKey == "" || a.Region != "us-east-1" {
		t.Fatalf("server: %+v", a)
	}
	for _, c := range []struct {
		name           string
		bucket, secret string
		want           int
	}{
		{"first bucket", a.Bucket, a.SecretAccessKey, http.StatusOK},
		{"second bucket", b.Bucket, b.SecretAccessKey, http.StatusOK},
		{"no such bucket", "test-none", a.SecretAccessKey, http.StatusNotFound},
		{"wrong secret", a.Bucket, a.SecretAccessKey + "0", http.StatusForbidden},
		{"unsigned", a.Bucket, "", http.StatusForbidden},
	} {
		if got := headBucket(t, a, c.bucket, c.secret); got != c.want {
			t.Errorf("%s: HEAD bucket = %d, want %d", c.name, got, c.want)
		}
	}
}

// headBucket sends HEAD /bucket signed with AWS Signature Version 4 (not
// signed when secret is empty) and returns the status.
func headBucket(t *testing.T, s S3Server, bucket, secret string) int {
	t.Helper()
	u, err := url.Parse(s.Endpoint + "/" + bucket)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodHead, u.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if secret != "" {
		signV4(req, s.AccessKeyID, secret, s.Region, time.Now().UTC())
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("HEAD %s: %v", u, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// signV4 signs a request without a body for the s3 service.
func signV4(req *http.Request, access, secret, region string, now time.Time) {
	date, stamp := now.Format("20060102"), now.Format("20060102T150405Z")
	emptyHash := sha256Hex("")
	req.Header.Set("X-Amz-Date", stamp)
	req.Header.Set("X-Amz-Content-Sha256", emptyHash)
	canonical := req.Method + "\n" + req.URL.EscapedPath() + "\n" + req.URL.RawQuery + "\n" +
		"host:" + req.URL.Host + "\n" + "x-amz-content-sha256:" + emptyHash + "\n" + "x-amz-date:" + stamp + "\n\n" +
		"host;x-amz-content-sha256;x-amz-date\n" + emptyHash
	scope := date + "/" + region + "/s3/aws4_request"
	toSign := "AWS4-HMAC-SHA256\n" + stamp + "\n" + scope + "\n" + sha256Hex(canonical)
	key := []byte("AWS4" + secret)
	for _, part := range []string{date, region, "s3", "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+access+"/"+scope+
		", SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="+hex.EncodeToString(hmacSHA256(key, toSign)))
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

package s3store

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Options
	}{
		{"s3://files?endpoint=http://127.0.0.1:9000&region=us-east-1",
			Options{Bucket: "files", Endpoint: "http://127.0.0.1:9000", Region: "us-east-1"}},
		{"s3://files", Options{Bucket: "files"}},
		{"s3://files/", Options{Bucket: "files"}},
		{"s3://my.bucket-1/uploads/?region=eu-west-3",
			Options{Bucket: "my.bucket-1", Region: "eu-west-3", Prefix: "uploads/"}},
		{"s3://files/a/b?endpoint=https%3A%2F%2Fs3.example.com",
			Options{Bucket: "files", Endpoint: "https://s3.example.com", Prefix: "a/b"}},
		{"s3://files?endpoint=minio.internal:9000", Options{Bucket: "files", Endpoint: "minio.internal:9000"}},
		{"s3://files?endpoint=http://[::1]:9000/", Options{Bucket: "files", Endpoint: "http://[::1]:9000/"}},
		{"s3://files?region=auto&endpoint=https://acct.r2.cloudflarestorage.com",
			Options{Bucket: "files", Region: "auto", Endpoint: "https://acct.r2.cloudflarestorage.com"}},
	} {
		got, err := ParseURL(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

func TestParseURLRefuses(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "want s3://BUCKET"},
		{"file:///tmp", "want s3://BUCKET"},
		{"S3://files", "want s3://BUCKET"},
		{"s3://", "bucket name"},
		{"s3://?endpoint=http://x", "bucket name"},
		{"s3://ab", "bucket name"},
		{"s3://Files", "bucket name"},
		{"s3://files_1", "bucket name"},
		{"s3://-files", "bucket name"},
		{"s3://fi..les", "bucket name"},
		{"s3://192.168.1.1", "IP address"},
		{"s3://" + strings.Repeat("a", 64), "bucket name"},
		{"s3://AKIDEXAMPLE:wJalrXUtnFEMI@files", "must not hold keys"},
		{"s3://files:9000", "must not hold keys or a port"},
		{"s3://files#frag", "fragment"},
		{"s3://files?endpoint=http://AKID:topsecretvalue@127.0.0.1:9000", "endpoint must not hold keys"},
		{"s3://files?secret_key=topsecretvalue", `unknown URL parameter "secret_key"`},
		{"s3://files?endpoint=", "endpoint must be given once"},
		{"s3://files?region=a&region=b", "region must be given once"},
		{"s3://files?region=us%20east", "region"},
		{"s3://files?endpoint=%zz", "query is malformed"},
		{"s3://files?endpoint=ftp://host", "scheme must be http or https"},
		{"s3://files?endpoint=http://host/path", "bad host name"},
		{"s3://files?endpoint=http://host?x=1", "bad host name"},
		{"s3://files?endpoint=host:0", "bad port"},
		{"s3://files?endpoint=host:70000", "bad port"},
		{"s3://files?endpoint=host:", "bad port"},
		{"s3://files?endpoint=[::1", "unclosed"},
		{"s3://files?endpoint=[fe80::1%25eth0]:9000", "IPv6"},
		{"s3://files/../x", "prefix"},
		{"s3://files//x", "prefix"},
		{"s3://files/a%2Fb", "prefix"},
		{"s3://files/a b", "prefix"},
	} {
		o, err := ParseURL(c.in)
		if err == nil || !strings.HasPrefix(err.Error(), "s3store: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseURL(%q) = %+v, %v; want an error with %q", c.in, o, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), "topsecretvalue") || strings.Contains(err.Error(), "wJalrXUtnFEMI") {
			t.Errorf("ParseURL(%q): the error shows the secret: %v", c.in, err)
		}
	}
}

func TestEndpointTLS(t *testing.T) {
	for _, c := range []struct {
		endpoint string
		secure   bool
		host     string
		tls      bool
	}{
		{"", false, "s3.amazonaws.com", true},
		{"s3.example.com", false, "s3.example.com", true},
		{"s3.example.com:9000", false, "s3.example.com:9000", true},
		{"10.0.0.5:9000", false, "10.0.0.5:9000", true},
		{"127.0.0.1:9000", false, "127.0.0.1:9000", false},
		{"127.0.0.1:9000", true, "127.0.0.1:9000", true},
		{"localhost:9000", false, "localhost:9000", false},
		{"[::1]:9000", false, "[::1]:9000", false},
		{"http://s3.example.com", false, "s3.example.com", false},
		{"https://127.0.0.1:9000/", false, "127.0.0.1:9000", true},
		{"https://s3.example.com", true, "s3.example.com", true},
	} {
		host, tls, err := endpoint(c.endpoint, c.secure)
		if err != nil || host != c.host || tls != c.tls {
			t.Errorf("endpoint(%q, secure=%v) = %q, tls=%v, %v; want %q, tls=%v", c.endpoint, c.secure, host, tls, err, c.host, c.tls)
		}
	}
}

func TestOptionsStringHidesSecret(t *testing.T) {
	o := Options{Bucket: "files", AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG"}
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		if s := fmt.Sprintf(f, o); strings.Contains(s, "wJalrXUtnFEMI") || !strings.Contains(s, "AKIDEXAMPLE") {
			t.Errorf("Sprintf(%s) = %s", f, s)
		}
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"s3://files?endpoint=http://127.0.0.1:9000&region=us-east-1",
		"s3://files/uploads/?region=eu-west-3",
		"s3://my.bucket-1?endpoint=https%3A%2F%2Fs3.example.com%2F",
		"s3://files?endpoint=[::1]:9000",
		"s3://key:secret@files",
		"s3://files?endpoint=http://k:s@h",
		"s3://files?endpoint=host:65535&endpoint=x",
		"s3://files/../a",
		"s3://files?%zz",
		"s3://192.168.0.1",
		"s3://files?endpoint=[fe80::1%25en0]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseURL(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "s3store: ") {
				t.Fatalf("error without the package name: %v", err)
			}
			return
		}
		if o.AccessKeyID != "" || o.SecretAccessKey != "" || o.Secure {
			t.Fatalf("ParseURL(%q) set keys or Secure: %+v", s, o)
		}
		r, err := o.resolve()
		if err != nil {
			t.Fatalf("ParseURL(%q) accepted options that do not resolve: %v", s, err)
		}
		if r.prefix != "" {
			segs := strings.Split(r.prefix, "/")
			if segs[len(segs)-1] != "" {
				t.Fatalf("prefix %q from %q does not end in /", r.prefix, s)
			}
			for _, seg := range segs[:len(segs)-1] {
				if seg == "" || seg == "." || seg == ".." {
					t.Fatalf("prefix %q from %q has segment %q", r.prefix, s, seg)
				}
			}
		}
		// The options written out again parse to the same options.
		q := url.Values{}
		if o.Endpoint != "" {
			q.Set("endpoint", o.Endpoint)
		}
		if o.Region != "" {
			q.Set("region", o.Region)
		}
		again := "s3://" + o.Bucket
		if o.Prefix != "" {
			again += "/" + o.Prefix
		}
		if len(q) > 0 {
			again += "?" + q.Encode()
		}
		if o2, err := ParseURL(again); err != nil || o2 != o {
			t.Fatalf("ParseURL(%q) = %+v, but its rewrite %q gives %+v, %v", s, o, again, o2, err)
		}
	})
}

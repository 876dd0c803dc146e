package objstore

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Options
		wantErr string
	}{
		{in: "http://AK:SK@127.0.0.1:8490/gatewave", want: Options{Endpoint: "127.0.0.1:8490", AccessKey: "AK", SecretKey: "SK", Bucket: "gatewave"}},
		{in: "https://AK:S%2FK@s3.example.com/b-1?region=eu-west-3", want: Options{Endpoint: "s3.example.com", AccessKey: "AK", SecretKey: "S/K", Bucket: "b-1", Region: "eu-west-3", Secure: true}},
		{in: "ftp://AK:SK@h/b", wantErr: `scheme "ftp"`},
		{in: "127.0.0.1:8490/gatewave", wantErr: "not a URL"},
		{in: "//AK:SK@127.0.0.1:8490/gatewave", wantErr: `scheme ""`},
		{in: "http://127.0.0.1:8490/gatewave", wantErr: "no credentials"},
		{in: "http://AK@127.0.0.1:8490/gatewave", wantErr: "both an access key and a secret"},
		{in: "http://:SK@127.0.0.1:8490/gatewave", wantErr: "both an access key and a secret"},
		{in: "http://AK:SK@/gatewave", wantErr: "no host"},
		{in: "http://AK:SK@127.0.0.1:8490", wantErr: "no bucket"},
		{in: "http://AK:SK@127.0.0.1:8490/", wantErr: "no bucket"},
		{in: "http://AK:SK@127.0.0.1:8490/gatewave/tasks", wantErr: "bucket name only"},
		{in: "http://AK:SK@127.0.0.1:8490/gatewave?secure=1", wantErr: `query "secure"`},
		{in: "http://AK:SK@127.0.0.1:8490/gatewave?region=", wantErr: `query "region"`},
		{in: "http://AK:SK@127.0.0.1:8490/gatewave#x", wantErr: "fragment"},
		{in: "http://AK:SECRETVALUE@127.0.0.1:8490/gate wave\x7f", wantErr: "not a URL"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseURL(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseURL(%q) = %v, %v; want an error containing %q", tc.in, got, err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "SK") || strings.Contains(err.Error(), "SECRETVALUE") {
					t.Fatalf("error repeats the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseURL(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Fatalf("ParseURL(%q) = %#v; want %#v", tc.in, got, tc.want)
			}
		})
	}
}

func TestOptionsStringHidesSecret(t *testing.T) {
	o := Options{Endpoint: "127.0.0.1:8490", AccessKey: "AK", SecretKey: "topsecret", Bucket: "gatewave"}
	for _, s := range []string{o.String(), fmt.Sprint(o), fmt.Sprintf("%v %+v", o, &o)} {
		if strings.Contains(s, "topsecret") {
			t.Fatalf("printed options show the secret: %s", s)
		}
	}
	if got, want := o.String(), "http://AK:xxxxx@127.0.0.1:8490/gatewave"; got != want {
		t.Fatalf("String() = %q; want %q", got, want)
	}
}

func TestNewRefusesIncompleteOptions(t *testing.T) {
	ok := Options{Endpoint: "127.0.0.1:1", AccessKey: "a", SecretKey: "s", Bucket: "gatewave"}
	if _, err := New(ok); err != nil {
		t.Fatalf("New(%v): %v", ok, err)
	}
	for name, mod := range map[string]func(*Options){
		"no endpoint":  func(o *Options) { o.Endpoint = "" },
		"no access":    func(o *Options) { o.AccessKey = "" },
		"no secret":    func(o *Options) { o.SecretKey = "" },
		"no bucket":    func(o *Options) { o.Bucket = "" },
		"bad bucket":   func(o *Options) { o.Bucket = "Upper_Case" },
		"short bucket": func(o *Options) { o.Bucket = "ab" },
		"dash end":     func(o *Options) { o.Bucket = "gatewave-" },
	} {
		o := ok
		mod(&o)
		if _, err := New(o); err == nil {
			t.Errorf("%s: New(%v) succeeded", name, o)
		}
	}
}

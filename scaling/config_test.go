package scaling_test

import (
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/scaling"
)

func TestConfigDefaults(t *testing.T) {
	c := scaling.Config{MaxLag: -1, CausalWait: 5 * time.Millisecond}.WithDefaults()
	if c.MaxLag != -1 || c.CausalWait != 5*time.Millisecond {
		t.Errorf("WithDefaults changed set fields: %+v", c)
	}
	if c.MaxConns != scaling.DefaultMaxConns() || c.MaxLagBytes != scaling.DefaultMaxLagBytes ||
		c.ProbeInterval != scaling.DefaultProbeInterval || c.MaxConnLifetimeJitter != scaling.DefaultMaxConnLifetimeJitter {
		t.Errorf("WithDefaults left zero fields: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
	err := scaling.Config{MinConns: -1, ProbeInterval: -time.Second, CausalWait: -1}.Validate()
	if err == nil || !strings.Contains(err.Error(), "ProbeInterval") || !strings.Contains(err.Error(), "CausalWait") {
		t.Errorf("Validate of negative values: %v", err)
	}
}

func TestParseReplica(t *testing.T) {
	r, err := scaling.ParseReplica("eu-west=postgres://app@db-eu:5432/strata?sslmode=disable")
	if err != nil || r.Region != "eu-west" || r.URL != "postgres://app@db-eu:5432/strata?sslmode=disable" {
		t.Fatalf("ParseReplica = %+v, %v", r, err)
	}
	if r, err := scaling.ParseReplica("=postgres://db"); err != nil || r.Region != "" {
		t.Fatalf("no region: %+v, %v", r, err)
	}
	for _, bad := range []string{"", "eu", "eu=", "postgres://app:secret@db/x?a=b"} {
		_, err := scaling.ParseReplica(bad)
		if err == nil {
			t.Errorf("ParseReplica(%q) succeeded", bad)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("error shows the password: %v", err)
		}
	}
}

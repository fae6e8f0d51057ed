package api_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/dbtls"
	"github.com/mycrt/captures/pkg/report"
)

// strs is a list of values as openapi.yaml spells them.
func strs[T ~string](vals []T) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = string(v)
	}
	return out
}

// anyStrs reads an enum, or an extension's list, as strings.
func anyStrs(vals any) []string {
	list, _ := vals.([]any)
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = fmt.Sprint(v)
	}
	return out
}

// jsonFields are the JSON names of a struct's fields, in order.
func jsonFields(v any) []string {
	var out []string
	t := reflect.TypeOf(v)
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out = append(out, name)
	}
	return out
}

// TestOpenAPIListsAreTheCodes: each list openapi.yaml writes out (and from which pkg/client
// and the console's web/src/api.gen.ts are generated) is the one its Go home holds, in the
// same order, so that a status, TLS mode or rule added in Go cannot be missing elsewhere.
func TestOpenAPIListsAreTheCodes(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	schema := func(t *testing.T, name string) *openapi3.Schema {
		t.Helper()
		ref, ok := doc.Components.Schemas[name]
		if !ok || ref.Value == nil {
			t.Fatalf("openapi.yaml has no schema %s", name)
		}
		return ref.Value
	}
	var live []capture.Status
	for _, s := range capture.Statuses {
		if s.Live() {
			live = append(live, s)
		}
	}
	errorBody := schema(t, "Error")
	tests := []struct {
		name      string
		got, want []string
	}{
		{"Status enum is capture.Statuses", anyStrs(schema(t, "Status").Enum), strs(capture.Statuses)},
		{"Status x-live is the Live statuses", anyStrs(schema(t, "Status").Extensions["x-live"]), strs(live)},
		{"CreateCapture status enum is capture.RequestStatuses", anyStrs(schema(t, "CreateCapture").Properties["status"].Value.Enum), strs(capture.RequestStatuses)},
		{"TLSMode enum is dbtls.Modes", anyStrs(schema(t, "TLSMode").Enum), strs(dbtls.Modes)},
		{"ReportSort enum is report.Sorts", anyStrs(schema(t, "ReportSort").Enum), strs(report.Sorts)},
		{"CompareSort enum is report.CompareSorts", anyStrs(schema(t, "CompareSort").Enum), strs(report.CompareSorts)},
		{"CompareVerdict enum is report.Verdicts", anyStrs(schema(t, "CompareVerdict").Enum), strs(report.Verdicts)},
		{"CaptureName pattern is capture.NamePattern", []string{schema(t, "CaptureName").Pattern}, []string{capture.NamePattern}},
		{"CaptureName description is capture.NameRule", []string{schema(t, "CaptureName").Description}, []string{capture.NameRule}},
		{"ReplayName pattern is capture.ReplayNamePattern", []string{schema(t, "ReplayName").Pattern}, []string{capture.ReplayNamePattern}},
		{"ReplayName description is capture.ReplayNameRule", []string{schema(t, "ReplayName").Description}, []string{capture.ReplayNameRule}},
		{"ReplayMode enum is capture.ReplayModes", anyStrs(schema(t, "ReplayMode").Enum), strs(capture.ReplayModes)},
		{"CreateReplay mode enum is capture.ReplayModes", anyStrs(schema(t, "CreateReplay").Properties["mode"].Value.Enum), strs(capture.ReplayModes)},
		{"CreateReplay status enum is capture.RequestStatuses", anyStrs(schema(t, "CreateReplay").Properties["status"].Value.Enum), strs(capture.RequestStatuses)},
		{"CreateReplay bounds are capture's", []string{fmt.Sprint(*schema(t, "CreateReplay").Properties["speed"].Value.Max, *schema(t, "CreateReplay").Properties["maxConnections"].Value.Max)},
			[]string{fmt.Sprint(float64(capture.MaxSpeed), float64(capture.MaxMaxConnections))}},
		{"Error requires api.ErrorBody's fields", errorBody.Required, jsonFields(api.ErrorBody{})},
		{"Error has api.ErrorBody's fields only", sortedKeys(errorBody.Properties), sortedKeys(fieldSet(api.ErrorBody{}))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !slices.Equal(tt.got, tt.want) {
				t.Errorf("openapi.yaml has %q, the code %q", tt.got, tt.want)
			}
		})
	}
	if has := errorBody.AdditionalProperties.Has; has == nil || *has {
		t.Error("openapi.yaml's Error allows more properties than api.ErrorBody has")
	}
}

func fieldSet(v any) map[string]bool {
	out := map[string]bool{}
	for _, f := range jsonFields(v) {
		out[f] = true
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

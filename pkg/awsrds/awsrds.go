// Package awsrds makes the RDS calls of the service, in RDS's query protocol: describing the
// instance an environment names (before it is stored), and reading, setting and resetting the
// general log settings of its parameter group (while a capture records). It is a leaf package
// so that only the functions that call RDS link it.
package awsrds

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mycrt/captures/pkg/awserr"
	"github.com/mycrt/captures/pkg/awsreq"
	"github.com/mycrt/captures/pkg/capture"
)

// apiVersion is the RDS API version every call names.
const apiVersion = "2014-10-31"

// Client calls RDS.
type Client struct {
	rds awsreq.Client
}

// New calls RDS with cfg's credentials at endpoint (RDS's in cfg's region when empty).
func New(cfg aws.Config, endpoint string) *Client {
	return &Client{rds: awsreq.New(cfg, "rds", endpoint)}
}

// call sends action with params and decodes the answer's <ActionResult> into out. Errors are
// RDS's own (*awsreq.Error), for the caller to wrap.
func (c *Client) call(ctx context.Context, action string, params url.Values, out any) error {
	params.Set("Action", action)
	params.Set("Version", apiVersion)
	_, body, err := c.rds.Do(ctx, awsreq.Request{
		Method: http.MethodPost,
		Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}},
		Body:   []byte(params.Encode()),
	})
	if err != nil {
		return err
	}
	// <ActionResponse><ActionResult>...</ActionResult><ResponseMetadata/></ActionResponse>
	var env struct {
		Parts []struct {
			XMLName xml.Name
			Inner   string `xml:",innerxml"`
		} `xml:",any"`
	}
	if err := xml.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("rds %s: the answer is not XML: %w", action, err)
	}
	for _, el := range env.Parts {
		if el.XMLName.Local == action+"Result" {
			if err := xml.Unmarshal([]byte("<r>"+el.Inner+"</r>"), out); err != nil {
				return fmt.Errorf("rds %s: %w", action, err)
			}
			return nil
		}
	}
	return fmt.Errorf("rds %s: the answer has no %sResult", action, action)
}

// Instance describes instance id: capture.ErrRDSInstanceNotFound if RDS has none by that
// name, an error of kind capture.ErrRDSUnavailable if RDS cannot be asked.
func (c *Client) Instance(ctx context.Context, id string) (capture.RDSInstance, error) {
	var out struct {
		Instances []struct {
			ID       string `xml:"DBInstanceIdentifier"`
			Endpoint *struct {
				Address string
				Port    int
			}
			Groups []string `xml:"DBParameterGroups>DBParameterGroup>DBParameterGroupName"`
		} `xml:"DBInstances>DBInstance"`
	}
	err := c.call(ctx, "DescribeDBInstances", url.Values{"DBInstanceIdentifier": {id}}, &out)
	var e *awsreq.Error
	if errors.As(err, &e) && e.Code == "DBInstanceNotFound" {
		return capture.RDSInstance{}, capture.ErrRDSInstanceNotFound
	}
	if err != nil {
		return capture.RDSInstance{}, fmt.Errorf("%w: %w", capture.ErrRDSUnavailable, awserr.Wrap("describe instance "+id, err))
	}
	if len(out.Instances) == 0 {
		return capture.RDSInstance{}, capture.ErrRDSInstanceNotFound
	}
	db := out.Instances[0]
	inst := capture.RDSInstance{ID: db.ID, ParameterGroups: db.Groups}
	if db.Endpoint != nil {
		inst.Host, inst.Port = db.Endpoint.Address, db.Endpoint.Port
	}
	return inst, nil
}

// Settings returns the values of the parameters names in group, following every page; an
// empty value is the engine's default.
func (c *Client) Settings(ctx context.Context, group string, names ...string) (map[string]string, error) {
	out := map[string]string{}
	for _, n := range names {
		out[n] = ""
	}
	marker := ""
	for {
		params := url.Values{"DBParameterGroupName": {group}}
		if marker != "" {
			params.Set("Marker", marker)
		}
		var page struct {
			Parameters []struct {
				Name  string `xml:"ParameterName"`
				Value string `xml:"ParameterValue"`
			} `xml:"Parameters>Parameter"`
			Marker string
		}
		if err := c.call(ctx, "DescribeDBParameters", params, &page); err != nil {
			return nil, err
		}
		for _, p := range page.Parameters {
			if _, ok := out[p.Name]; ok {
				out[p.Name] = p.Value
			}
		}
		if page.Marker == "" || page.Marker == marker {
			return out, nil
		}
		marker = page.Marker
	}
}

// Set sets parameters in group, applied at once (they must be dynamic).
func (c *Client) Set(ctx context.Context, group string, values map[string]string) error {
	params := url.Values{"DBParameterGroupName": {group}}
	i := 0
	for _, name := range slices.Sorted(maps.Keys(values)) {
		i++
		addParameter(params, i, name, values[name])
	}
	return c.call(ctx, "ModifyDBParameterGroup", params, &struct{}{})
}

// Reset returns parameters names of group to the engine's defaults, at once.
func (c *Client) Reset(ctx context.Context, group string, names ...string) error {
	params := url.Values{"DBParameterGroupName": {group}}
	for i, name := range names {
		addParameter(params, i+1, name, "")
	}
	return c.call(ctx, "ResetDBParameterGroup", params, &struct{}{})
}

// addParameter is the query protocol's list member n of Parameters.
func addParameter(params url.Values, n int, name, value string) {
	prefix := "Parameters.Parameter." + strconv.Itoa(n) + "."
	params.Set(prefix+"ParameterName", name)
	if value != "" {
		params.Set(prefix+"ParameterValue", value)
	}
	params.Set(prefix+"ApplyMethod", "immediate")
}

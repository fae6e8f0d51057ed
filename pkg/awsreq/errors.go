package awsreq

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strings"
)

// decodeError reads an error answer in whichever of AWS's shapes it comes: the
// X-Amzn-ErrorType header (REST-JSON), a JSON body with __type or code (JSON 1.0/1.1), an XML
// body with <Code> (query and REST-XML, S3's bare <Error> included), or the client's own
// decoder. With none of those, the status text is the code.
func (c *Client) decodeError(resp *http.Response, body []byte) *Error {
	e := &Error{Service: c.Service, StatusCode: resp.StatusCode, RequestID: requestID(resp.Header)}
	if t := resp.Header.Get("X-Amzn-Errortype"); t != "" {
		e.Code = t
	}
	var j struct {
		Type     string `json:"__type"`
		Code     string `json:"code"`
		Message  string `json:"message"`
		MessageU string `json:"Message"`
	}
	var x struct {
		Code      string                          `xml:"Code"`
		Message   string                          `xml:"Message"`
		Nested    *struct{ Code, Message string } `xml:"Error"`
		RequestID string                          `xml:"RequestId"`
	}
	trimmed := strings.TrimSpace(string(body))
	switch {
	case strings.HasPrefix(trimmed, "{") && json.Unmarshal(body, &j) == nil:
		if e.Code == "" {
			e.Code = j.Type
		}
		if e.Code == "" {
			e.Code = j.Code
		}
		e.Message = j.Message + j.MessageU
	case strings.HasPrefix(trimmed, "<") && xml.Unmarshal(body, &x) == nil:
		if x.Nested != nil {
			x.Code, x.Message = x.Nested.Code, x.Nested.Message
		}
		if e.Code == "" {
			e.Code = x.Code
		}
		e.Message = x.Message
		if e.RequestID == "" {
			e.RequestID = x.RequestID
		}
	case c.Errors != nil && len(body) > 0:
		code, msg := c.Errors(body)
		if e.Code == "" {
			e.Code = code
		}
		e.Message = msg
	}
	// JSON protocols may qualify the code (aws.protocoltests#Name, or Name:http://...).
	if i := strings.LastIndexByte(e.Code, '#'); i >= 0 {
		e.Code = e.Code[i+1:]
	}
	e.Code, _, _ = strings.Cut(e.Code, ":")
	if e.Code == "" {
		e.Code = strings.ReplaceAll(http.StatusText(resp.StatusCode), " ", "")
	}
	return e
}

func requestID(h http.Header) string {
	for _, k := range []string{"X-Amzn-Requestid", "X-Amz-Request-Id", "X-Amzn-Request-Id"} {
		if v := h.Get(k); v != "" {
			return v
		}
	}
	return ""
}

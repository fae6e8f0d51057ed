// Command hello is the cold-start baseline: the smallest aws-lambda-go function, built the way
// the real ones are.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, ev map[string]any) (string, error) { return "hello", nil })
}

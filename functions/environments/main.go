// Command environments is the Lambda function behind every /api/environments route.
package main

import (
	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app/serve"
	"github.com/mycrt/captures/pkg/app/withcheck"
	"github.com/mycrt/captures/pkg/app/withcognito"
	"github.com/mycrt/captures/pkg/app/withkms"
	"github.com/mycrt/captures/pkg/app/withrds"
	"github.com/mycrt/captures/pkg/app/withs3"
	"github.com/mycrt/captures/pkg/app/withworker"
)

func main() {
	serve.Main(api.Environments, withkms.SealsPasswords, withrds.ChecksInstances, withs3.KeepsFiles, withcognito.FindsUsers, withcheck.ChecksDatabases, withworker.HandsWork)
}

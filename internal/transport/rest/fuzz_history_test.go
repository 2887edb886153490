package rest_test

import "testing"

func FuzzImportMessage(f *testing.F) {
	fuzzBody(f, "POST", "/acme/chat/messages/users/import", true,
		`{"from":"a","target":"b","type":"txt","body":{"msg":"hi"},"msg_timestamp":1700000000000}`,
		`{"from":"a","target":"b","type":"custom","body":{"customEvent":"x"},"ext":null,"is_ack_read":true}`,
		`{"msg_timestamp":-1}`, `{"need_download":true}`, `[]`, `{"body":"x"}`)
}

func FuzzAddKeywords(f *testing.F) {
	fuzzBody(f, "POST", "/acme/chat/moderation/keywords", true,
		`{"words":[{"word":"坏蛋","action":"replace"}]}`, `{"words":[{"word":"","action":"reject"}]}`,
		`{"words":[{"word":"\ud800","action":"review"}]}`, `{"words":null}`, `{"words":[1]}`)
}

func FuzzReportMessage(f *testing.F) {
	fuzzBody(f, "POST", "/acme/chat/user/admin/moderation/report/message", true,
		`{"msgId":"123","type":"abuse","reason":"rude"}`, `{"msgId":"-1"}`, `{"msgId":123}`, `{"reason":"\u0000"}`)
}

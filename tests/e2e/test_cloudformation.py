# The AWS side as code: config/aws/stack.yaml deployed to moto's CloudFormation on the local server
# (authentication off), and each resource checked as moto made it. moto 5.2.5 supports every
# resource type in the template (AWS::DynamoDB::Table, AWS::IAM::Role, AWS::IAM::Policy,
# AWS::IoT::RoleAlias, AWS::IoT::Policy), with these gaps: it drops the table's
# PointInTimeRecoverySpecification (checked in the template instead); a Ref to a role alias or an
# IoT policy yields no name (the template's Outputs name them as it names the resources); an inline
# policy document (a role's Policies, an IoT policy's) is kept as Python's repr of it (read back
# either way); and it has no AWS::IAM::RolePolicy at all (the OTA statements are an
# AWS::IAM::Policy on the role, the same inline policy on AWS).
import ast
import json
import os

import pytest
from cfnlint.decode import cfn_yaml

from local.localddb import ROOT, LocalDynamoDB

TEMPLATE = os.path.join(ROOT, "config", "aws", "stack.yaml")


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    server = LocalDynamoDB(str(tmp_path_factory.mktemp("cfn"))).start()  # never provisioned: auth off
    yield server
    server.stop()


def deploy(moto, stack, **parameters):
    """The stack's outputs once moto created it from the template."""
    cfn = moto.client("cloudformation")
    with open(TEMPLATE) as f:
        body = f.read()
    cfn.create_stack(
        StackName=stack,
        TemplateBody=body,
        Capabilities=["CAPABILITY_NAMED_IAM"],
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )
    cfn.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    assert described["StackStatus"] == "CREATE_COMPLETE", described
    return {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}


def role_policies(moto, role):
    iam = moto.client("iam")
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []  # no managed policy
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    return {name: document(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]) for name in names}


def document(policy):
    """A policy document as a dict: moto keeps one a template gave inline (a role's Policies, an
    IoT policy's PolicyDocument) as Python's repr of it, not as JSON."""
    if isinstance(policy, dict):
        return policy
    return json.loads(policy) if policy.lstrip().startswith('{"') else ast.literal_eval(policy)


def test_the_stack_makes_the_table_role_alias_and_policy_the_devices_need(moto):
    out = deploy(moto, "iot-sigv4", BucketName="ota-bucket")
    table_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/readings"
    alias_arn = "arn:aws:iot:us-east-1:123456789012:rolealias/iot-sigv4-devices"
    role_arn = "arn:aws:iam::123456789012:role/iot-sigv4-device"
    assert out == {
        "TableName": "readings",
        "TableArn": table_arn,
        "RoleAlias": "iot-sigv4-devices",
        "RoleAliasArn": alias_arn,
        "DeviceRoleArn": role_arn,
        "IotPolicyName": "iot-sigv4-device",
        "CredentialsEndpointHint": "aws iot describe-endpoint --endpoint-type iot:CredentialProvider"
        " --region us-east-1",
    }

    ddb = moto.client("dynamodb")
    table = ddb.describe_table(TableName="readings")["Table"]
    assert table["KeySchema"] == [
        {"AttributeName": "deviceId", "KeyType": "HASH"},
        {"AttributeName": "seq", "KeyType": "RANGE"},
    ]
    assert sorted((a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]) == [
        ("deviceId", "S"),
        ("seq", "N"),
    ]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    # PITR: moto's CloudFormation drops PointInTimeRecoverySpecification (its table is DISABLED), so
    # the template is checked for it; AWS honours it.
    with open(TEMPLATE) as f:
        template = cfn_yaml.loads(f.read())
    table_props = template["Resources"]["Table"]["Properties"]
    assert table_props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert template["Resources"]["Table"]["DeletionPolicy"] == "Retain"

    # the role: only the credentials provider may assume it; it may only write the table, read
    # releases and write its own log prefix
    iam = moto.client("iam")
    role = iam.get_role(RoleName="iot-sigv4-device")["Role"]
    assert role["Arn"] == role_arn
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "credentials.iot.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    policies = role_policies(moto, "iot-sigv4-device")
    assert sorted(policies) == ["ota", "write-readings"]
    assert policies["write-readings"]["Statement"] == [
        {"Effect": "Allow", "Action": ["dynamodb:BatchWriteItem", "dynamodb:PutItem"], "Resource": table_arn}
    ]
    assert policies["ota"]["Statement"] == [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::ota-bucket/releases/*"},
        {
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::ota-bucket/logs/${credentials-iot:ThingName}/*",
        },
    ]

    iot = moto.client("iot")
    alias = iot.describe_role_alias(roleAlias="iot-sigv4-devices")["roleAliasDescription"]
    assert (alias["roleAliasArn"], alias["roleArn"], alias["credentialDurationSeconds"]) == (alias_arn, role_arn, 3600)
    policy = document(iot.get_policy(policyName="iot-sigv4-device")["policyDocument"])
    assert policy["Statement"] == [
        {"Effect": "Allow", "Action": "iot:AssumeRoleWithCertificate", "Resource": alias_arn}
    ]  # no iot:Connect: the devices never use MQTT


def test_without_a_bucket_the_role_gets_no_s3_access(moto):
    out = deploy(
        moto, "no-ota", TableName="readings-2", RoleAliasName="no-ota-devices", CredentialDurationSeconds="900"
    )
    assert (out["TableName"], out["RoleAlias"], out["IotPolicyName"]) == (
        "readings-2",
        "no-ota-devices",
        "no-ota-device",
    )
    assert list(role_policies(moto, "no-ota-device")) == ["write-readings"]
    alias = moto.client("iot").describe_role_alias(roleAlias="no-ota-devices")["roleAliasDescription"]
    assert alias["credentialDurationSeconds"] == 900
    assert moto.client("dynamodb").describe_table(TableName="readings-2")["Table"]["TableStatus"] == "ACTIVE"


def test_alerts_and_a_sigv4_endpoint_are_granted_only_when_asked_for(moto):
    api = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/readings"
    function = "arn:aws:lambda:us-east-1:123456789012:function:ingest"
    out = deploy(
        moto,
        "alerting",
        TableName="readings-3",
        RoleAliasName="alerting-devices",
        AlertEmail="me@example.com",
        ApiArn=api,
        FunctionArn=function,
    )
    topic = "arn:aws:sns:us-east-1:123456789012:alerting-alerts"
    assert out["AlertTopicArn"] == topic
    sns = moto.client("sns")
    subs = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subs] == [("email", "me@example.com")]
    policies = role_policies(moto, "alerting-device")
    assert sorted(policies) == ["invoke-api", "invoke-function-url", "publish-alerts", "write-readings"]
    assert policies["publish-alerts"]["Statement"] == [{"Effect": "Allow", "Action": "sns:Publish", "Resource": topic}]
    assert policies["invoke-api"]["Statement"] == [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": api}]
    assert policies["invoke-function-url"]["Statement"] == [
        {
            "Effect": "Allow",
            "Action": "lambda:InvokeFunctionUrl",
            "Resource": function,
            "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}},
        }
    ]
    # without them (the stacks above): no topic, no such policy
    assert "AlertTopicArn" not in deploy(moto, "plain", TableName="readings-4", RoleAliasName="plain-devices")
    assert list(role_policies(moto, "plain-device")) == ["write-readings"]

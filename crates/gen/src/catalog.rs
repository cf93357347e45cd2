//! The noise vocabulary: event sources and names with their weights, identity profiles,
//! user agents and error codes. Everything here is benign: no logging or detector tampering,
//! no public sharing, no administrator grants, no offensive tools, no root API calls.

use std::sync::OnceLock;

/// One event type: source, name, weight, read-only.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EventType {
    pub source: &'static str,
    pub name: &'static str,
    pub weight: u32,
    pub read_only: bool,
}

/// `service|Name:weight Name:weight …` lines; the service's `.amazonaws.com` is implied.
/// Weights are relative across the whole table (reads dominate, as in real trails).
const TABLE: &str = "\
ec2|DescribeInstances:900 DescribeInstanceStatus:260 DescribeVolumes:200 DescribeSecurityGroups:190 DescribeSubnets:150 DescribeVpcs:140 DescribeNetworkInterfaces:170 DescribeImages:90 DescribeSnapshots:80 DescribeTags:120 DescribeRegions:60 DescribeAvailabilityZones:60 DescribeRouteTables:50 DescribeAddresses:40 DescribeKeyPairs:30 DescribeLaunchTemplates:30 DescribeLaunchTemplateVersions:20 DescribeInstanceTypes:40 DescribeVpcEndpoints:25 DescribeNatGateways:20 DescribeInternetGateways:20 DescribeNetworkAcls:15 DescribeAccountAttributes:25 DescribeSpotPriceHistory:10 GetConsoleOutput:4 CreateTags:30 DeleteTags:6 StartInstances:5 StopInstances:5 RunInstances:6 TerminateInstances:4 CreateSnapshot:6 DeleteSnapshot:4 CreateVolume:3 AttachVolume:3 DetachVolume:2 AuthorizeSecurityGroupIngress:2 RevokeSecurityGroupIngress:2 CreateNetworkInterface:8 DeleteNetworkInterface:8 ModifyInstanceAttribute:2
s3|GetObject:1400 PutObject:420 HeadObject:300 ListObjects:180 ListObjectsV2:120 DeleteObject:60 CopyObject:20 GetBucketLocation:90 ListBuckets:70 GetBucketAcl:60 GetBucketPolicy:30 GetBucketVersioning:30 GetBucketEncryption:30 GetBucketTagging:25 GetBucketLogging:15 GetBucketPublicAccessBlock:20 GetBucketOwnershipControls:15 GetBucketLifecycle:10 HeadBucket:60 CreateMultipartUpload:15 UploadPart:40 CompleteMultipartUpload:15 PutBucketTagging:2
sts|AssumeRole:420 GetCallerIdentity:300 AssumeRoleWithWebIdentity:80 AssumeRoleWithSAML:15 GetSessionToken:1 DecodeAuthorizationMessage:2
kms|Decrypt:700 GenerateDataKey:250 Encrypt:60 DescribeKey:80 ListAliases:20 ListKeys:10 GetKeyPolicy:8 ReEncrypt:5 GetKeyRotationStatus:6
iam|GetRole:110 ListRoles:40 ListUsers:30 GetUser:40 GetPolicy:40 GetPolicyVersion:40 ListAttachedRolePolicies:50 ListRolePolicies:30 GetRolePolicy:30 ListAttachedUserPolicies:15 ListGroupsForUser:10 ListAccessKeys:15 GetAccessKeyLastUsed:10 ListPolicies:20 ListInstanceProfiles:15 GetInstanceProfile:15 ListMFADevices:8 GetAccountSummary:6 GenerateCredentialReport:2 GetCredentialReport:2 ListServerCertificates:4 PassRole:2 PutRolePolicy:3 CreateUser:1 CreateAccessKey:1 TagRole:2 UpdateRole:1
lambda|Invoke:120 GetFunction:60 ListFunctions20150331:40 GetFunctionConfiguration:50 ListVersionsByFunction:15 GetPolicy20150331v2:10 ListEventSourceMappings20150331:12 UpdateFunctionCode20150331v2:4 UpdateFunctionConfiguration20150331v2:3 ListTags20170331:15
logs|CreateLogStream:140 DescribeLogGroups:90 DescribeLogStreams:70 FilterLogEvents:20 GetLogEvents:20 CreateLogGroup:5 PutRetentionPolicy:3 StartQuery:8 GetQueryResults:20 DescribeSubscriptionFilters:10
monitoring|GetMetricData:300 DescribeAlarms:120 ListMetrics:50 GetMetricStatistics:80 PutMetricAlarm:6 DescribeAlarmHistory:10 ListDashboards:5 GetDashboard:5
dynamodb|DescribeTable:220 ListTables:40 DescribeContinuousBackups:20 DescribeTimeToLive:20 ListTagsOfResource:20 DescribeGlobalTable:4 UpdateTable:2 CreateBackup:2 DescribeKinesisStreamingDestination:8
secretsmanager|GetSecretValue:180 DescribeSecret:60 ListSecrets:12 GetResourcePolicy:8 PutSecretValue:3 RotateSecret:2 ListSecretVersionIds:6
ssm|GetParameter:170 GetParameters:120 GetParametersByPath:60 DescribeInstanceInformation:70 UpdateInstanceInformation:140 ListCommands:10 ListAssociations:40 DescribeParameters:20 PutParameter:3 GetDocument:15 ListInstanceAssociations:40 SendCommand:2 GetCommandInvocation:4
ecr|GetAuthorizationToken:140 BatchGetImage:90 GetDownloadUrlForLayer:120 DescribeRepositories:30 DescribeImages:30 ListImages:25 BatchCheckLayerAvailability:30 PutImage:3 InitiateLayerUpload:4 UploadLayerPart:6 CompleteLayerUpload:4 GetLifecyclePolicy:5
ecs|DescribeServices:60 DescribeTasks:60 ListTasks:40 DescribeClusters:30 ListClusters:10 DescribeTaskDefinition:30 ListServices:20 DescribeContainerInstances:20 SubmitTaskStateChange:30 UpdateService:2 RegisterTaskDefinition:2
eks|DescribeCluster:70 ListClusters:15 DescribeNodegroup:20 ListNodegroups:15 DescribeAddon:10 ListAddons:8 DescribeUpdate:3 AccessKubernetesApi:5
elasticloadbalancing|DescribeLoadBalancers:60 DescribeTargetGroups:50 DescribeTargetHealth:80 DescribeListeners:30 DescribeRules:20 DescribeTags:30 DescribeLoadBalancerAttributes:20 DescribeTargetGroupAttributes:15 RegisterTargets:3 DeregisterTargets:3 ModifyTargetGroupAttributes:1
autoscaling|DescribeAutoScalingGroups:80 DescribeAutoScalingInstances:30 DescribeLaunchConfigurations:15 DescribeScalingActivities:20 DescribePolicies:10 DescribeLifecycleHooks:10 CompleteLifecycleAction:4 SetDesiredCapacity:2 DescribeWarmPool:5
cloudformation|DescribeStacks:90 ListStacks:20 DescribeStackEvents:40 DescribeStackResources:25 GetTemplate:15 ListStackResources:20 DescribeStackResource:15 GetTemplateSummary:8 ValidateTemplate:6 CreateChangeSet:3 DescribeChangeSet:8 ExecuteChangeSet:2 UpdateStack:2 CreateStack:1
rds|DescribeDBInstances:70 DescribeDBClusters:40 DescribeDBSnapshots:15 DescribeDBClusterSnapshots:10 DescribeDBParameterGroups:8 DescribeDBSubnetGroups:8 DescribeEvents:10 ListTagsForResource:20 DescribeDBEngineVersions:6 DescribePendingMaintenanceActions:6 CreateDBSnapshot:1
sqs|GetQueueAttributes:60 ListQueues:20 GetQueueUrl:30 ListQueueTags:8 SetQueueAttributes:2 CreateQueue:1
sns|ListTopics:20 GetTopicAttributes:30 ListSubscriptionsByTopic:15 Publish:10 ListTagsForResource:8 Subscribe:1
events|ListRules:20 DescribeRule:20 ListTargetsByRule:15 PutEvents:25 DescribeEventBus:5 PutRule:1 PutTargets:1
states|DescribeStateMachine:15 ListStateMachines:10 ListExecutions:15 DescribeExecution:20 StartExecution:6 GetExecutionHistory:8
cloudtrail|DescribeTrails:15 GetTrailStatus:15 LookupEvents:25 GetEventSelectors:8 ListTrails:6 GetInsightSelectors:3 ListTags:4
config|DescribeConfigRules:15 DescribeComplianceByConfigRule:10 GetComplianceDetailsByConfigRule:8 PutEvaluations:20 DescribeConfigurationRecorders:6 DescribeDeliveryChannels:4 GetResourceConfigHistory:6 SelectResourceConfig:4
guardduty|ListDetectors:15 GetDetector:10 ListFindings:15 GetFindings:10 GetFindingsStatistics:5 ListMembers:3
securityhub|GetFindings:20 DescribeHub:5 BatchImportFindings:15 GetEnabledStandards:5 DescribeStandardsControls:5 BatchUpdateFindings:2
route53|ListHostedZones:20 GetHostedZone:15 ListResourceRecordSets:30 GetChange:10 ChangeResourceRecordSets:3 ListHealthChecks:5 ListTagsForResource:6
acm|DescribeCertificate:20 ListCertificates:15 ListTagsForCertificate:8 GetCertificate:4
apigateway|GetRestApis:15 GetResources:10 GetStages:10 GetDeployments:5 GetIntegration:5 GetAuthorizers:4 CreateDeployment:1
elasticfilesystem|DescribeFileSystems:20 DescribeMountTargets:15 DescribeAccessPoints:6 DescribeBackupPolicy:4 DescribeLifecycleConfiguration:4
backup|ListBackupJobs:10 ListBackupPlans:6 DescribeBackupJob:8 ListRecoveryPointsByBackupVault:6 StartBackupJob:3 DescribeBackupVault:4
kinesis|DescribeStream:20 ListStreams:8 DescribeStreamSummary:15 ListShards:15 GetShardIterator:10
firehose|DescribeDeliveryStream:10 ListDeliveryStreams:6 PutRecordBatch:5
elasticache|DescribeCacheClusters:15 DescribeReplicationGroups:12 DescribeCacheSubnetGroups:4 ListTagsForResource:6 DescribeEvents:4
redshift|DescribeClusters:8 DescribeClusterSnapshots:4 DescribeLoggingStatus:3
athena|StartQueryExecution:15 GetQueryExecution:40 GetQueryResults:20 ListWorkGroups:5 GetWorkGroup:6 ListDataCatalogs:3
glue|GetTable:40 GetTables:20 GetDatabase:15 GetDatabases:10 GetPartitions:25 BatchGetPartition:15 GetJobRun:8 StartJobRun:3 GetCrawler:5 GetJobs:4
codebuild|BatchGetBuilds:15 ListBuilds:6 StartBuild:3 BatchGetProjects:6 ListProjects:4
codepipeline|GetPipelineState:15 ListPipelines:5 GetPipeline:6 ListPipelineExecutions:8 StartPipelineExecution:1
organizations|DescribeOrganization:15 ListAccounts:8 DescribeAccount:6 ListRoots:4 ListPoliciesForTarget:5 ListParents:4
sso|GetRoleCredentials:40 ListAccountRoles:15 ListAccounts:10 GetManagedApplicationInstance:3
signin|ConsoleLogin:12 CheckMFA:6 SwitchRole:8 GetSigninToken:4
health|DescribeEvents:10 DescribeEventAggregates:5 DescribeAffectedEntities:4
tagging|GetResources:20 GetTagKeys:4 GetTagValues:3
wafv2|ListWebACLs:6 GetWebACL:6 ListIPSets:4 GetIPSet:3 ListRuleGroups:3
cloudfront|ListDistributions:8 GetDistribution:6 GetDistributionConfig:4 ListInvalidations:3 CreateInvalidation:2
access-analyzer|ListAnalyzers:4 ListFindings:4 ValidatePolicy:3
ce|GetCostAndUsage:6 GetCostForecast:3 GetDimensionValues:3
servicequotas|GetServiceQuota:3 ListServiceQuotas:3 GetAWSDefaultServiceQuota:2
";

static CATALOG: OnceLock<Vec<EventType>> = OnceLock::new();

fn is_read(name: &str) -> bool {
    const READ: [&str; 14] = [
        "Describe",
        "List",
        "Get",
        "Head",
        "Lookup",
        "Search",
        "BatchGet",
        "Query",
        "Scan",
        "Select",
        "Check",
        "Validate",
        "Decrypt",
        "AccessKubernetesApi",
    ];
    READ.iter().any(|p| name.starts_with(p)) || matches!(name, "GenerateDataKey" | "ReEncrypt")
}

/// Every noise event type, sources in full (`ec2.amazonaws.com`).
pub(crate) fn catalog() -> &'static [EventType] {
    CATALOG.get_or_init(|| {
        let mut out = Vec::new();
        for line in TABLE.lines().filter(|l| !l.trim().is_empty()) {
            let (svc, names) = line.split_once('|').expect("catalog line has a service");
            let source: &'static str = Box::leak(format!("{svc}.amazonaws.com").into_boxed_str());
            for item in names.split_whitespace() {
                let (name, w) = item.split_once(':').expect("catalog item has a weight");
                out.push(EventType {
                    source,
                    name,
                    weight: w.parse().expect("catalog weight is a number"),
                    read_only: is_read(name),
                });
            }
        }
        out
    })
}

/// What kind of identity a profile draws events for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Profile {
    /// Anything in the catalog except sign-in and SSO portal events.
    Admin,
    /// A deploy pipeline: cloudformation, ecr, ecs, lambda, s3, iam reads, sts.
    Deploy,
    /// Reads only (Describe/List/Get/Head), no sts minting.
    Reader,
    /// A data job: s3, kms, dynamodb, glue, athena, secrets, logs.
    Data,
    /// Kubernetes nodes / EC2 instances: ec2 describes, ecr pulls, ssm agent, logs.
    Node,
    /// A Lambda function: logs, dynamodb, kms, s3, sqs, sns, secrets.
    Function,
    /// An AWS service acting on the account's behalf.
    Service,
}

fn profile_admits(p: Profile, e: &EventType) -> bool {
    let svc = e.source.trim_end_matches(".amazonaws.com");
    if matches!(svc, "signin" | "sso") {
        return false; // drawn by the console path only
    }
    let minting = matches!(e.name, "AssumeRole" | "GetSessionToken" | "CreateAccessKey" | "AssumeRoleWithSAML");
    match p {
        Profile::Admin => true,
        Profile::Deploy => {
            matches!(
                svc,
                "cloudformation"
                    | "ecr"
                    | "ecs"
                    | "lambda"
                    | "s3"
                    | "sts"
                    | "ssm"
                    | "logs"
                    | "codebuild"
                    | "codepipeline"
                    | "elasticloadbalancing"
                    | "autoscaling"
            ) || (svc == "iam" && (e.read_only || e.name == "PassRole"))
        }
        Profile::Reader => (e.read_only && !minting && svc != "sts") || e.name == "GetCallerIdentity",
        Profile::Data => {
            matches!(
                svc,
                "s3" | "kms" | "dynamodb" | "glue" | "athena" | "secretsmanager" | "logs" | "kinesis" | "firehose"
            )
        }
        Profile::Node => {
            (svc == "ec2" && e.read_only)
                || matches!(svc, "ecr" | "ssm" | "logs" | "monitoring" | "kms")
                || matches!(e.name, "DescribeCluster" | "AccessKubernetesApi" | "GetObject")
        }
        Profile::Function => {
            matches!(svc, "logs" | "dynamodb" | "kms" | "sqs" | "sns" | "secretsmanager" | "events" | "states")
                || matches!(e.name, "GetObject" | "PutObject" | "HeadObject")
        }
        Profile::Service => {
            matches!(
                svc,
                "kms"
                    | "logs"
                    | "s3"
                    | "ec2"
                    | "sts"
                    | "ecs"
                    | "autoscaling"
                    | "config"
                    | "cloudformation"
                    | "monitoring"
            ) && (e.read_only
                || matches!(
                    e.name,
                    "CreateLogStream"
                        | "PutEvaluations"
                        | "CreateNetworkInterface"
                        | "DeleteNetworkInterface"
                        | "AssumeRole"
                        | "SubmitTaskStateChange"
                ))
        }
    }
}

/// A weighted table of the event types a profile may draw.
#[derive(Debug)]
pub(crate) struct Table {
    events: Vec<EventType>,
    cumulative: Vec<u64>,
}

impl Table {
    fn new(p: Profile) -> Self {
        let events: Vec<EventType> = catalog().iter().copied().filter(|e| profile_admits(p, e)).collect();
        let mut total = 0u64;
        let cumulative = events
            .iter()
            .map(|e| {
                total += e.weight as u64;
                total
            })
            .collect();
        Table { events, cumulative }
    }
    /// Draws an event type with `roll` uniform in `0..self.total()`.
    pub fn pick(&self, roll: u64) -> &EventType {
        let i = self.cumulative.partition_point(|&c| c <= roll);
        &self.events[i.min(self.events.len() - 1)]
    }
    /// Sum of the weights.
    pub fn total(&self) -> u64 {
        *self.cumulative.last().unwrap_or(&1)
    }
}

static TABLES: OnceLock<Vec<(Profile, Table)>> = OnceLock::new();

/// The table of a profile.
pub(crate) fn table(p: Profile) -> &'static Table {
    let all = TABLES.get_or_init(|| {
        [
            Profile::Admin,
            Profile::Deploy,
            Profile::Reader,
            Profile::Data,
            Profile::Node,
            Profile::Function,
            Profile::Service,
        ]
        .into_iter()
        .map(|p| (p, Table::new(p)))
        .collect()
    });
    &all.iter().find(|(q, _)| *q == p).expect("every profile has a table").1
}

/// User agents of SDKs and tools people ordinarily use.
pub(crate) const SDK_AGENTS: &[&str] = &[
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0-18-amd64 exe/x86_64.debian.12 prompt/off command/s3.cp",
    "aws-cli/2.17.4 Python/3.11.9 Darwin/23.5.0 exe/x86_64 prompt/off command/ec2.describe-instances",
    "aws-cli/2.13.25 Python/3.11.6 Windows/10 exe/AMD64 prompt/off command/sts.get-caller-identity",
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69",
    "Boto3/1.28.57 Python/3.9.18 Linux/5.10.205-195.807.amzn2.x86_64 exec-env/AWS_Lambda_python3.9 Botocore/1.31.57",
    "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.150.0",
    "aws-sdk-go/1.50.38 (go1.21.8; linux; amd64)",
    "aws-sdk-java/2.25.11 Linux/5.10.210-201.852.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy",
    "aws-sdk-js/3.540.0 ua/2.0 os/linux#5.10.210 lang/js md/nodejs#20.11.1 api/dynamodb#3.540.0",
    "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.25.3 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/sts#1.28.4",
    "aws-sdk-rust/1.1.8 os/linux lang/rust/1.77.0",
    "kubernetes/v1.29.1-eks-508b6b3 aws-sdk-go/1.48.14 (go1.21.6; linux; amd64)",
    "amazon-ssm-agent/3.3.131.0",
];

/// User agents of the web console.
pub(crate) const CONSOLE_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0",
    "AWS Internal",
    "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.660 Linux/5.10.210-178.855.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.402-b08 java/1.8.0_402 vendor/Oracle_Corporation cfg/retry-mode/standard]",
];

/// Error codes noise calls fail with, by event source (a few % of calls fail).
pub(crate) fn error_for(source: &str, name: &str, roll: u64) -> (&'static str, &'static str) {
    if roll.is_multiple_of(5) {
        return ("ThrottlingException", "Rate exceeded");
    }
    match source {
        "ec2.amazonaws.com" => ("Client.UnauthorizedOperation", "You are not authorized to perform this operation."),
        "iam.amazonaws.com" if name.starts_with("Get") => ("NoSuchEntity", "The role with name was not found."),
        "s3.amazonaws.com" if name == "GetObject" || name == "HeadObject" => {
            ("NoSuchKey", "The specified key does not exist.")
        }
        "s3.amazonaws.com" if name.starts_with("GetBucket") => {
            ("NoSuchBucketPolicy", "The bucket policy does not exist")
        }
        "dynamodb.amazonaws.com" | "lambda.amazonaws.com" | "secretsmanager.amazonaws.com" | "ecr.amazonaws.com" => {
            ("ResourceNotFoundException", "Requested resource not found")
        }
        "ssm.amazonaws.com" if name.starts_with("GetParameter") => ("ParameterNotFound", "Parameter not found."),
        _ => ("AccessDenied", "is not authorized to perform this action"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_large_skewed_and_benign() {
        let c = catalog();
        assert!(c.len() >= 250, "{} event types", c.len());
        let total: u64 = c.iter().map(|e| e.weight as u64).sum();
        let reads: u64 = c.iter().filter(|e| e.read_only).map(|e| e.weight as u64).sum();
        assert!(reads * 100 / total >= 70, "reads dominate");
        for bad in [
            "StopLogging",
            "DeleteTrail",
            "DeleteDetector",
            "PutBucketPolicy",
            "ModifySnapshotAttribute",
            "AttachUserPolicy",
            "GetFederationToken",
            "CreateLoginProfile",
            "UpdateAssumeRolePolicy",
            "InvokeModel",
            "UpdateAccountSendingEnabled",
            "RequestServiceQuotaIncrease",
        ] {
            assert!(c.iter().all(|e| e.name != bad), "{bad} must not be noise");
        }
        for p in [
            Profile::Admin,
            Profile::Deploy,
            Profile::Reader,
            Profile::Data,
            Profile::Node,
            Profile::Function,
            Profile::Service,
        ] {
            assert!(table(p).total() > 0);
        }
        assert!(table(Profile::Reader).events.iter().all(|e| e.name != "AssumeRole" && e.name != "CreateAccessKey"));
    }
}

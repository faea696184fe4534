-- A pipeline's RoleArn is recorded with who passed it (PipelineRecord.role_grants), and the
-- engine runs an execution only as a granted role (pipelines.engine.roles). The embedded
-- store is a file of its owner, who acted as the account's root when the role was set, so a
-- pipeline written before grants existed keeps its role: it is granted as passed by that root
-- at the pipeline's creation. (The deployed DynamoDB store has no such default: see
-- docs/deploy.md, "Who passed the role".)
UPDATE pipelines
SET body = json_set(
    body,
    '$.role_grants',
    json_array(json_object(
        'role_arn', json_extract(body, '$.role_arn'),
        'passed_by', 'arn:aws:iam::' || substr(json_extract(body, '$.arn'),
            instr(substr(json_extract(body, '$.arn'), instr(json_extract(body, '$.arn'), ':sagemaker:') + 11), ':')
            + instr(json_extract(body, '$.arn'), ':sagemaker:') + 11, 12) || ':root',
        'passed_at', json_extract(body, '$.created_at')
    ))
)
WHERE json_extract(body, '$.role_arn') IS NOT NULL AND json_extract(body, '$.role_grants') IS NULL;

-- The vault's folder trees are per user, as passbolt's `folders_relations`: every user who
-- has access to a resource or a folder has one row placing it in their own tree
-- (`folder_parent_id` NULL: at their root). The number of rows of an item is the number of
-- users with access to it (an item with one row is "personal"). The single, shared
-- `folder_parent_id` of resources and folders goes: each user's placement starts from it
-- where that user can see the parent folder, else at their root.
-- Keep in step with postgres_0085_vault_folders_relations.sql (the same statements).
CREATE TABLE vault_folders_relations (
    -- 'Resource' or 'Folder'
    foreign_model TEXT NOT NULL,
    foreign_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES vault_users(id) ON DELETE CASCADE,
    folder_parent_id TEXT,
    created BIGINT NOT NULL,
    modified BIGINT NOT NULL,
    PRIMARY KEY (foreign_id, user_id)
);
CREATE INDEX vault_folders_relations_user ON vault_folders_relations(user_id, foreign_model);
CREATE INDEX vault_folders_relations_parent ON vault_folders_relations(folder_parent_id);
INSERT INTO vault_folders_relations (foreign_model, foreign_id, user_id, folder_parent_id, created, modified)
SELECT a.aco, a.item, a.user_id, NULL, MIN(a.created), MIN(a.created) FROM (
    SELECT aco, COALESCE(resource_id, folder_id) AS item, user_id, created
      FROM vault_permissions WHERE user_id IS NOT NULL
    UNION ALL
    SELECT p.aco, COALESCE(p.resource_id, p.folder_id) AS item, g.user_id, p.created
      FROM vault_permissions p JOIN vault_groups_users g ON g.group_id = p.group_id
) a WHERE a.item IS NOT NULL GROUP BY a.aco, a.item, a.user_id;
UPDATE vault_folders_relations SET folder_parent_id =
    (SELECT r.folder_parent_id FROM vault_resources r WHERE r.id = vault_folders_relations.foreign_id)
    WHERE foreign_model = 'Resource';
UPDATE vault_folders_relations SET folder_parent_id =
    (SELECT f.folder_parent_id FROM vault_folders f WHERE f.id = vault_folders_relations.foreign_id)
    WHERE foreign_model = 'Folder';
UPDATE vault_folders_relations SET folder_parent_id = NULL
    WHERE folder_parent_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM vault_folders_relations p
         WHERE p.foreign_id = vault_folders_relations.folder_parent_id
           AND p.user_id = vault_folders_relations.user_id);
ALTER TABLE vault_resources DROP COLUMN folder_parent_id;
ALTER TABLE vault_folders DROP COLUMN folder_parent_id;

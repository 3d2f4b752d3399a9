"""The process 流程: the lifecycle as data and its ``transitions`` adapter, the engine that runs one
command as one unit of work, rules, the approval operations and tasks, process migration, diagrams
and how the actor was authenticated."""

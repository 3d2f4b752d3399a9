"""××县（示例）招商引资接待的 jiedai_flow 插件包：插件在 :mod:`jiedai_zhaoshang_example.plugin`，
流程定义在 :mod:`jiedai_zhaoshang_example.process`。"""

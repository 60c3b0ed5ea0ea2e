delete from @drms_file@ where @drms_index_info@

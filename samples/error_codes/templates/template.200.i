insert into @drms_file@ values (@err_number@, '@err_name@', '@err_text@', '@err_category@', '@err_category2@')
